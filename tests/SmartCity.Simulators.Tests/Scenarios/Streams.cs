using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Scenarios;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Simulators.Tests.Scenarios;

/// <summary>Scenario files and their generated streams, for tests.</summary>
internal static class Streams
{
    /// <summary>A Wednesday in term time, local midnight in Utrecht.</summary>
    public static readonly DateTimeOffset SchoolDay = new(2026, 11, 25, 0, 0, 0, TimeSpan.FromHours(1));

    public static Scenario Load(string name) => Scenario.Load(Path.Combine(AppContext.BaseDirectory, "scenarios", name + ".json"));

    public static IEnumerable<string> ScenarioFiles() =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "scenarios"), "*.json").Order(StringComparer.Ordinal);

    public static List<ScenarioMessage> Generate(Scenario scenario, DateTimeOffset start)
    {
        using var generator = new CityGenerator(scenario with { Start = start }, start, start + scenario.Duration);
        return generator.Messages().ToList();
    }

    public static JsonElement Json(this ScenarioMessage m) => JsonDocument.Parse(m.Payload).RootElement;

    public static string Kind(this ScenarioMessage m) => m.Topic[(m.Topic.LastIndexOf('/') + 1)..];

    public static IEnumerable<ScenarioMessage> Of(this IEnumerable<ScenarioMessage> stream, string deviceId, string kind) =>
        stream.Where(m => m.DeviceId == deviceId && m.Kind() == kind);

    /// <summary>The worker's own decoder, judging a message as if received at its simulated send time.</summary>
    public static DecodeOutcome DecodeAsWorker(ScenarioMessage m)
    {
        var options = Options.Create(new DecodingOptions());
        var decoder = new MessageDecoder(options, SmartCity.Telemetry.Devices.Profiles.ProfileLoader.LoadAll(null), []);
        return decoder.Decode(m.Topic, new ReadOnlySequence<byte>(m.Payload), m.SimTime);
    }
}
