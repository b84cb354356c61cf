using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Partitioning;

/// <summary>
/// A worker started with <c>Partitions:Map</c> (the shared map file) and <c>Partitions:Worker</c>
/// (its identity) takes its settings from the map: it subscribes to exactly its partitions'
/// filters with a persistent session named after its identity, keeps its spool, registry and alert
/// state under <c>{Partitions:DataDirectory}/{identity}/</c>, and decodes and stores for its city
/// (topic root, bucket, the city's own settings). A map that is unusable is a configuration error
/// (exit 78) naming the partitions.
/// </summary>
public static class PartitionServiceCollectionExtensions
{
    public const string SectionName = "Partitions";

    /// <summary>The city this worker serves; API keys scoped to another city see nothing of it.</summary>
    public const string CityKey = "Tenancy:City";

    public static IServiceCollection AddPartitions(this IServiceCollection services, IConfigurationManager configuration)
    {
        var mapPath = configuration[SectionName + ":Map"];
        var worker = configuration[SectionName + ":Worker"];
        if (string.IsNullOrWhiteSpace(mapPath) && string.IsNullOrWhiteSpace(worker))
        {
            return services; // one worker, the settings as configured
        }

        var (overlay, filters, problems) = Resolve(mapPath, worker, configuration[SectionName + ":DataDirectory"] ?? "data");
        services.AddSingleton(new ConfigurationCheck(_ => problems.Select(p => "Partitions: " + p)));
        if (problems.Count == 0)
        {
            configuration.AddInMemoryCollection(overlay);
            // Exactly the partitions' filters, whatever Mqtt:Subscriptions held (the binder would merge arrays).
            services.PostConfigure<MqttSourceOptions>(o => o.Subscriptions = [.. filters]);
        }

        return services;
    }

    /// <summary>The settings the map gives <paramref name="worker"/>, or the problems that refuse it.</summary>
    public static (Dictionary<string, string?> Overlay, IReadOnlyList<string> Filters, IReadOnlyList<string> Problems) Resolve(string? mapPath, string? worker, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(mapPath) || string.IsNullOrWhiteSpace(worker))
        {
            return ([], [], ["Map and Worker are set together (the map file, and this worker's identity in it)"]);
        }

        var (map, error) = PartitionMap.Load(mapPath);
        if (map is null)
        {
            return ([], [], [error!]);
        }

        var problems = PartitionMapCheck.Problems(map).Select(p => $"{mapPath}: {p}").ToList();
        var owned = map.Partitions.Where(p => p.Worker == worker).ToList();
        if (owned.Count == 0)
        {
            problems.Add($"{mapPath}: worker '{worker}' owns no partition (owners: {string.Join(", ", map.Partitions.Select(p => p.Worker).Distinct())})");
        }

        if (problems.Count > 0)
        {
            return ([], [], problems);
        }

        var city = map.City(owned[0].City)!;
        var state = Path.Combine(dataDirectory, worker);
        var overlay = new Dictionary<string, string?>(city.Settings, StringComparer.OrdinalIgnoreCase)
        {
            ["Mqtt:ClientId"] = worker,
            ["Decoding:TopicRoot"] = city.TopicRoot,
            ["Influx:Bucket"] = city.Bucket,
            ["Spool:Directory"] = Path.Combine(state, "spool"),
            ["Registry:File"] = Path.Combine(state, "registry.json"),
            ["Alerting:StateFile"] = Path.Combine(state, "alerts.json"),
            [CityKey] = city.Id,
            [SectionName + ":Owned"] = string.Join(",", owned.Select(p => p.Id)),
        };
        var filters = owned.SelectMany(p => p.Filters).ToList();
        for (var i = 0; i < filters.Count; i++)
        {
            overlay[$"Mqtt:Subscriptions:{i.ToString(CultureInfo.InvariantCulture)}"] = filters[i];
        }

        return (overlay, filters, []);
    }
}
