using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>
/// Reads and checks the <c>*.mapping.json</c> files of a folder. Every problem is named by file and
/// property (<c>school-7.mapping.json: $.devices[2].devEui: must be 16 hex digits</c>), all of them at
/// once, so an integrator fixes a file in one go.
/// </summary>
public static class NetworkMappingLoader
{
    public const string FilePattern = "*.mapping.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    public static NetworkMappings Load(string? directory, ProfileSet profiles, IReadOnlyCollection<string> codecNames)
    {
        if (string.IsNullOrWhiteSpace(directory))
        {
            return NetworkMappings.Empty;
        }

        if (!System.IO.Directory.Exists(directory))
        {
            return new([], [], new Dictionary<string, PubSubRoute>(), [$"NetworkServers:Directory: folder '{directory}' does not exist"]);
        }

        var files = System.IO.Directory.GetFiles(directory, FilePattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal);
        return Load(files.Select(f => (f, File.ReadAllText(f))), profiles, codecNames);
    }

    /// <summary>Mapping files given as (name, text), checked together (a device in two files is an error).</summary>
    public static NetworkMappings Load(IEnumerable<(string Source, string Text)> files, ProfileSet profiles, IReadOnlyCollection<string> codecNames)
    {
        var errors = new List<string>();
        var devices = new List<MappedDevice>();
        var routes = new List<NetworkRoute>();
        var pubSub = new Dictionary<string, PubSubRoute>(StringComparer.Ordinal);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (source, text) in files)
        {
            NetworkMappingFile? file;
            try
            {
                file = JsonSerializer.Deserialize<NetworkMappingFile>(text, Json);
            }
            catch (JsonException ex)
            {
                errors.Add($"{source}:{(ex.LineNumber ?? 0) + 1}: {ex.Path}: {ex.Message}");
                continue;
            }

            if (file is null)
            {
                errors.Add($"{source}: $: must be a JSON object");
                continue;
            }

            var check = new FileCheck(source, file, profiles, codecNames, errors);
            foreach (var device in check.Devices())
            {
                if (ids.TryGetValue(device.Topic.DeviceId, out var other))
                {
                    errors.Add($"{source}: $.devices: deviceId '{device.Topic.DeviceId}' is also mapped in {other}");
                    continue;
                }

                ids[device.Topic.DeviceId] = source;
                devices.Add(device);
            }

            if (check.Route is { } route && !routes.Contains(route))
            {
                routes.Add(route);
            }

            foreach (var (topic, pr) in check.PubSubRoutes())
            {
                pubSub[topic] = pr;
            }
        }

        CheckDuplicateKeys(devices, errors);
        return new NetworkMappings(devices, routes, pubSub, errors);
    }

    private static void CheckDuplicateKeys(List<MappedDevice> devices, List<string> errors)
    {
        foreach (var group in devices.Where(d => d.DevEui is not null).GroupBy(d => (d.Network, d.Application, d.DevEui)).Where(g => g.Count() > 1))
        {
            errors.Add($"{group.First().Source}: $.devices: devEui '{group.Key.DevEui}' is mapped twice ({string.Join(", ", group.Select(d => d.Topic.DeviceId))})");
        }
    }

    /// <summary>The checks of one file; problems go to the shared list.</summary>
    private sealed class FileCheck(string source, NetworkMappingFile file, ProfileSet profiles, IReadOnlyCollection<string> codecNames, List<string> errors)
    {
        private void Error(string path, string problem) => errors.Add($"{source}: {path}: {problem}");

        public NetworkRoute? Route { get; private set; }

        public List<MappedDevice> Devices()
        {
            var network = file.Network;
            if (network is not (NetworkNames.ChirpStack or NetworkNames.TheThingsStack))
            {
                Error("$.network", $"must be '{NetworkNames.ChirpStack}' or '{NetworkNames.TheThingsStack}'");
                return [];
            }

            var prefix = file.TopicPrefix ?? (network == NetworkNames.ChirpStack ? "application" : "v3");
            if (prefix.Length == 0 || prefix.Contains('+', StringComparison.Ordinal) || prefix.Contains('#', StringComparison.Ordinal) || prefix.EndsWith('/'))
            {
                Error("$.topicPrefix", "must be a topic without wildcards or a trailing '/'");
            }

            if (string.IsNullOrWhiteSpace(file.Application) || file.Application.Contains('/', StringComparison.Ordinal) || file.Application.Contains('@', StringComparison.Ordinal))
            {
                Error("$.application", "must be the network server's application id (no '/', and for The Things Stack without '@tenant')");
            }

            var profile = profiles.Find(file.Profile);
            if (profile is null)
            {
                Error("$.profile", $"'{file.Profile}' is not a device profile in force ({string.Join(", ", profiles.Profiles.Select(p => p.Id))})");
            }
            else if (!profile.Messages.ContainsKey("telemetry"))
            {
                Error("$.profile", $"profile '{profile.Id}' has no telemetry message for uplinks");
                profile = null;
            }

            CheckSegment("$.district", file.District);
            CheckSegment("$.site", file.Site);
            var codecs = Codecs();
            var fields = profile is null ? [] : Fields(profile.Messages["telemetry"]);
            if (file.Fields.Count == 0 && file.Codecs.Count == 0)
            {
                Error("$", "needs 'fields' (the network server decodes) or 'codecs' (raw payloads by fPort), or both");
            }

            if (file.Devices.Count == 0)
            {
                Error("$.devices", "must list at least one device");
            }

            var devices = file.Devices.Select((d, i) => Device(d, i, network, profile, codecs, fields)).OfType<MappedDevice>().ToList();
            Route = new NetworkRoute(network, prefix);
            return devices;
        }

        public IEnumerable<(string Topic, PubSubRoute Route)> PubSubRoutes()
        {
            if (file.PubSub is not { } ps)
            {
                yield break;
            }

            if (file.Network != NetworkNames.TheThingsStack)
            {
                Error("$.pubSub", "is for The Things Stack's Pub/Sub integration only");
                yield break;
            }

            foreach (var (topic, ev, path) in new[] { (ps.Uplink, "up", "$.pubSub.uplink"), (ps.Join, "join", "$.pubSub.join") })
            {
                if (topic is null)
                {
                    continue;
                }

                if (topic.Length == 0 || topic.Contains('+', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal))
                {
                    Error(path, "must be an exact topic (no wildcards)");
                    continue;
                }

                yield return (topic, new PubSubRoute(file.Network, file.Application, ev));
            }
        }

        private Dictionary<int, string> Codecs()
        {
            var codecs = new Dictionary<int, string>();
            foreach (var (port, name) in file.Codecs)
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var fPort) || fPort is < 1 or > 223)
                {
                    Error($"$.codecs.{port}", "must be an application fPort, 1..223");
                }
                else if (!codecNames.Contains(name))
                {
                    Error($"$.codecs.{port}", $"no decoder plug-in named '{name}' is registered ({string.Join(", ", codecNames.Order(StringComparer.Ordinal))})");
                }
                else
                {
                    codecs[fPort] = name;
                }
            }

            return codecs;
        }

        private List<MappedField> Fields(MessageSpec spec)
        {
            var fields = new List<MappedField>();
            foreach (var (key, mapping) in file.Fields)
            {
                var target = spec.Fields.FirstOrDefault(f => f.Name == mapping.Field);
                if (key.Length == 0 || key.Split('.').Any(p => p.Length == 0))
                {
                    Error($"$.fields['{key}']", "must be a key of the decoded payload (dots between nested keys)");
                }
                else if (target is null || target.Type == FieldKind.Flags)
                {
                    Error($"$.fields['{key}'].field", $"'{mapping.Field}' is not a field of the profile's telemetry ({string.Join(", ", spec.Fields.Where(f => f.Type != FieldKind.Flags).Select(f => f.Name))})");
                }
                else if (!NetworkUnits.TryFactor(mapping.Unit, target.Unit, out _))
                {
                    Error($"$.fields['{key}'].unit", $"'{mapping.Unit}' cannot be converted to the profile field's unit '{target.Unit}'");
                }
                else
                {
                    fields.Add(new MappedField(key, key.Split('.'), target, mapping.Unit));
                }
            }

            return fields;
        }

        private MappedDevice? Device(MappedDeviceSpec d, int i, string network, DeviceProfile? profile, Dictionary<int, string> codecs, List<MappedField> fields)
        {
            var path = $"$.devices[{i}]";
            // The file's own district and site were checked once; only overrides are named per device.
            var ok = CheckSegment(path + ".deviceId", d.DeviceId)
                & (d.District is null ? TopicParser.IsValidSegment(file.District) : CheckSegment(path + ".district", d.District))
                & (d.Site is null ? TopicParser.IsValidSegment(file.Site) : CheckSegment(path + ".site", d.Site));
            string? eui = null;
            if (d.DevEui is not null)
            {
                eui = d.DevEui.ToLowerInvariant();
                if (eui.Length != 16 || !eui.All(Uri.IsHexDigit))
                {
                    Error(path + ".devEui", "must be 16 hex digits");
                    ok = false;
                }
            }
            else if (network == NetworkNames.ChirpStack || d.NetworkDeviceId is null)
            {
                Error(path + ".devEui", network == NetworkNames.ChirpStack ? "is required (ChirpStack names devices by DevEUI)" : "or networkDeviceId is required");
                ok = false;
            }

            if (d.NetworkDeviceId is not null && network == NetworkNames.ChirpStack)
            {
                Error(path + ".networkDeviceId", "is for The Things Stack only (ChirpStack topics carry the DevEUI)");
                ok = false;
            }

            if (!ok || profile is null)
            {
                return null;
            }

            var topic = new DeviceTopic(profile.Sector, d.District ?? file.District, d.Site ?? file.Site, profile.DeviceType, d.DeviceId, MessageKind.Telemetry);
            return new MappedDevice(network, file.Application, eui, d.NetworkDeviceId, topic, profile, profile.Messages["telemetry"], source, codecs, fields);
        }

        private bool CheckSegment(string path, string? value)
        {
            if (value is null || !TopicParser.IsValidSegment(value))
            {
                Error(path, "must be 1..64 characters of [A-Za-z0-9_.-] (it becomes an InfluxDB tag)");
                return false;
            }

            return true;
        }
    }
}
