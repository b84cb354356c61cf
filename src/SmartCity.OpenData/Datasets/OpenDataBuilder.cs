using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.OpenData.Datasets;

/// <summary>
/// Builds every dataset from InfluxDB (InfluxQL) and the device registry. Privacy by construction: the
/// queries name their sector and measurement, rows are per district, school or sector (never a device),
/// and a group smaller than the configured minimum is left out and only counted.
/// </summary>
public sealed partial class OpenDataBuilder(InfluxQlReader influx, DeviceRegistry registry, IOptions<OpenDataOptions> options, TimeProvider time)
{
    private readonly OpenDataOptions _options = options.Value;

    public async Task<OpenDataSnapshot> BuildAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var devices = registry.Devices
            .Where(d => _options.Publishes(d.Sector) && !OpenDataOptions.ForbiddenDeviceTypes.Contains(d.DeviceType, StringComparer.OrdinalIgnoreCase))
            .ToList();
        var tables = new List<DatasetTable>();
        if (_options.Publishes("lighting"))
        {
            var lamps = devices.Where(d => _options.EffectiveLampDeviceTypes.Contains(d.DeviceType, StringComparer.Ordinal))
                .GroupBy(d => d.District, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            tables.Add(await OutagesAsync(lamps, now, cancellationToken).ConfigureAwait(false));
            tables.Add(await EnergyAsync(now, cancellationToken).ConfigureAwait(false));
        }

        if (_options.Publishes("education"))
        {
            tables.Add(await SchoolAirAsync(now, cancellationToken).ConfigureAwait(false));
        }

        tables.Add(ServiceStatus(devices));
        return new OpenDataSnapshot(now, tables);
    }

    private DatasetTable ServiceStatus(IReadOnlyList<DeviceRecord> devices)
    {
        var rows = new List<object?[]>();
        var suppressed = 0;
        foreach (var sector in devices.GroupBy(d => d.Sector, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var count = sector.Count();
            if (count < _options.MinDevicesPerSector)
            {
                suppressed++;
                continue;
            }

            var online = sector.Count(d => d.Online);
            rows.Add([sector.Key, (long)count, (long)online, Math.Round(100.0 * online / count, 1)]);
        }

        return new DatasetTable(DatasetDefinitions.ServiceStatus, rows, suppressed);
    }

    private async Task<DatasetTable> OutagesAsync(IReadOnlyDictionary<string, int> lampsPerDistrict, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The alert log (alert_transition) of lighting outages: one alert per outage, raised then resolved.
        // Times are the device's own (device_time) when known: a replayed backlog repaired days ago is not repaired "now".
        var series = await influx.QueryAsync(
            "SELECT \"alert_id\", \"device_time\" FROM \"alert_transition\" WHERE \"sector\" = 'lighting' AND time >= " + InfluxQl.Time(now - _options.OutageWindow)
            + " AND (\"transition\" = 'raised' OR \"transition\" = 'resolved') GROUP BY \"district\", \"rule\", \"transition\"", cancellationToken).ConfigureAwait(false);
        var outages = new Dictionary<string, (string District, DateTimeOffset? Raised, DateTimeOffset? Resolved)>(StringComparer.Ordinal);
        foreach (var s in series.Where(s => _options.EffectiveOutageRules.Contains(s.Tags.GetValueOrDefault("rule") ?? "", StringComparer.Ordinal)))
        {
            var raised = s.Tags.GetValueOrDefault("transition") == "raised";
            foreach (var row in s.Rows)
            {
                var id = row["alert_id"].GetString() ?? "";
                var at = DeviceTime(row);
                var o = outages.GetValueOrDefault(id, (s.Tags.GetValueOrDefault("district") ?? "", null, null));
                outages[id] = raised ? o with { Raised = Earliest(o.Raised, at) } : o with { Resolved = Earliest(o.Resolved, at) };
            }
        }

        var rows = new List<object?[]>();
        var byDistrict = outages.Values.Where(o => o.Raised is not null).ToLookup(o => o.District, StringComparer.Ordinal);
        var districts = lampsPerDistrict.Keys.Concat(byDistrict.Select(g => g.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var suppressed = 0;
        foreach (var district in districts)
        {
            var lamps = lampsPerDistrict.GetValueOrDefault(district);
            if (lamps < _options.MinLampsPerDistrict)
            {
                suppressed++;
                continue;
            }

            var repaired = byDistrict[district].Where(o => o.Resolved is not null).Select(o => Math.Max(0, (o.Resolved!.Value - o.Raised!.Value).TotalHours)).ToList();
            var open = byDistrict[district].Count(o => o.Resolved is null);
            rows.Add([district, (long)lamps, (long)open, (long)repaired.Count, repaired.Count > 0 ? Math.Round(repaired.Average(), 2) : null]);
        }

        return new DatasetTable(DatasetDefinitions.LightingOutages, rows, suppressed);
    }

    private static DateTimeOffset DeviceTime(IReadOnlyDictionary<string, JsonElement> row) =>
        row.TryGetValue("device_time", out var d) && d.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(d.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : DateTimeOffset.FromUnixTimeMilliseconds(row["time"].GetInt64());

    private static DateTimeOffset Earliest(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x < b ? x : b;
}
