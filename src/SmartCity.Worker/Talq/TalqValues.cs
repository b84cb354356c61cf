using System.Globalization;

namespace SmartCity.Worker.Talq;

/// <summary>
/// The last logged values of one TALQ device, already mapped to its profile's fields. TALQ logs attributes
/// one by one; a telemetry message carries a profile's required fields together, so values are kept until
/// the required ones have all been logged once. Kept in the CMS state file (<see cref="TalqDeviceStore"/>),
/// so a restart does not make a lamp wait for its level and power again.
/// </summary>
public sealed record TalqValues
{
    public Dictionary<string, double> Numbers { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Plain booleans that are no fault (e.g. photocell_on).</summary>
    public Dictionary<string, bool> Booleans { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Faults active now (the profile's flags: lamp_failure ...), reported in telemetry's 'faults' list.</summary>
    public HashSet<string> Faults { get; init; } = new(StringComparer.Ordinal);

    public TalqValues Apply(IEnumerable<TalqLogValue> values)
    {
        var next = new TalqValues
        {
            Numbers = new(Numbers, StringComparer.Ordinal),
            Booleans = new(Booleans, StringComparer.Ordinal),
            Faults = new(Faults, StringComparer.Ordinal),
        };
        foreach (var v in values)
        {
            switch (v)
            {
                case { Number: { } n }: next.Numbers[v.Field] = n; break;
                case { Flag: { } flag } when !TalqAttributes.Faults.Contains(v.Field): next.Booleans[v.Field] = flag; break;
                case { Flag: true }: next.Faults.Add(v.Field); break;
                case { Flag: false }: next.Faults.Remove(v.Field); break;
            }
        }

        return next;
    }

    /// <summary>
    /// The telemetry payload of a device of <paramref name="profile"/> at <paramref name="ts"/>, or null while a
    /// required field has never been logged (streetlight: level and power; photocell: its output).
    /// </summary>
    public Dictionary<string, object?>? Telemetry(string profile, DateTimeOffset ts)
    {
        var payload = new Dictionary<string, object?> { ["v"] = 1, ["ts"] = ts.ToString("O", CultureInfo.InvariantCulture) };
        switch (profile)
        {
            case TalqProfiles.Streetlight when Numbers.TryGetValue(TalqAttributes.Level, out var level) && Numbers.ContainsKey(TalqAttributes.Power):
                payload["on"] = level > 0;
                payload["faults"] = Faults.Order(StringComparer.Ordinal).ToArray();
                break;
            case TalqProfiles.Streetlight:
                return null;
            case TalqProfiles.Photocell when Booleans.ContainsKey(TalqAttributes.PhotocellOn):
                // A photocell's profile has no electrical fields: a meter on the same device is not its telemetry.
                payload[TalqAttributes.PhotocellOn] = Booleans[TalqAttributes.PhotocellOn];
                return payload;
            default:
                return null;
        }

        foreach (var (field, value) in Numbers)
        {
            payload[field] = value;
        }

        foreach (var (field, value) in Booleans)
        {
            payload[field] = value;
        }

        return payload;
    }
}
