using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.NetworkServers;
using SmartCity.Telemetry.Devices.Plugins;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>Decoders over mapping files written in the tests, and the published samples with one member changed where a case needs it.</summary>
internal static class NetworkTestKit
{
    public const string SchoolApp = "17c82e96-be03-4f38-aef3-f83d48582d97";

    public static readonly string[] CodecNames = [ElsysCodec.PluginName, MilesightWs558Codec.PluginName];

    /// <summary>The ChirpStack docs' application and device (0101010101010101) as a classroom sensor.</summary>
    public static readonly string ChirpStackSchool = $$"""
        {
          "network": "chirpstack", "application": "{{SchoolApp}}", "profile": "classroom_env",
          "district": "d07", "site": "school-7",
          "codecs": { "1": "elsys_ers_v1" },
          "fields": { "co2": { "field": "co2_ppm" }, "temperature": { "field": "temperature_c", "unit": "degC" },
                      "humidity": { "field": "humidity_pct", "unit": "%" }, "battery": { "field": "battery_pct" } },
          "devices": [ { "devEui": "0101010101010101", "deviceId": "co2-s7-101" } ]
        }
        """;

    /// <summary>The TTS docs' app1/dev1 (DevEUI 0004A30B001C0530 in one sample, absent in the Pub/Sub one) as a lamp controller.</summary>
    public static readonly string TtsLamps = """
        {
          "network": "the-things-stack", "application": "app1", "profile": "light_controller",
          "district": "d01", "site": "main-st",
          "codecs": { "85": "milesight_ws558_v1", "1": "elsys_ers_v1" },
          "fields": { "voltage": { "field": "voltage_v", "unit": "V" }, "power_consumption": { "field": "energy_kwh", "unit": "Wh" },
                      "total_current": { "field": "current_a", "unit": "mA" }, "power_factor": { "field": "power_factor", "unit": "%" },
                      "power": { "field": "power_w" }, "switch_1": { "field": "on" } },
          "devices": [ { "networkDeviceId": "dev1", "devEui": "0004A30B001C0530", "deviceId": "lc-d01-001" } ]
        }
        """;

    public static NetworkMappings Mappings(params string[] files) =>
        NetworkMappingLoader.Load(files.Select((text, i) => ($"test-{i}.mapping.json", text)), FieldNetworks.Profiles, CodecNames);

    public static NetworkUplinkDecoder Decoder(NetworkServerMetrics? metrics = null, params string[] files)
    {
        var mappings = Mappings(files.Length == 0 ? [ChirpStackSchool, TtsLamps] : files);
        Assert.Empty(mappings.Errors);
        return new NetworkUplinkDecoder(mappings, [new ElsysCodec(), new MilesightWs558Codec()], Options.Create(new DecodingOptions()), metrics ?? new NetworkServerMetrics());
    }

    public static DecodeOutcome Decode(this NetworkUplinkDecoder decoder, string topic, string payload, DateTimeOffset receivedAt)
    {
        Assert.True(decoder.TryDecode(topic, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)), receivedAt, out var outcome), $"{topic} not routed");
        return outcome;
    }

    /// <summary>A published sample with members set (paths as a/b/c), for cases the docs' examples lack.</summary>
    public static string With(string sample, params (string Path, JsonNode? Value)[] changes)
    {
        var root = JsonNode.Parse(sample)!;
        foreach (var (path, value) in changes)
        {
            var parts = path.Split('/');
            var parent = parts[..^1].Aggregate(root, (n, p) => n[p]!);
            parent[parts[^1]] = value;
        }

        return root.ToJsonString();
    }

    public static string Line(DecodeOutcome outcome)
    {
        Assert.True(outcome.Status == DecodeStatus.Accepted, outcome.Result.ToString());
        return LineProtocol.Format(outcome.Result.Point!);
    }
}
