using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.Simulators.Lighting;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.MicroBench;

/// <summary>
/// What the worker does for every MQTT message on its receive path (IngestStage.HandleAsync):
/// decode (topic, size, JSON, ranges) and format the line-protocol line, or for a bad message,
/// build and format its dead letter. The payload is the simulator's street-light telemetry (the
/// e2e benchmark's load), the decoder the worker's own, built by its composition root.
/// </summary>
[MemoryDiagnoser]
public class MessagePathBenchmarks
{
    private MessageDecoder _decoder = null!;
    private DeadLetters _deadLetters = null!;
    private string _topic = "";
    private ReadOnlySequence<byte> _payload;
    private ReadOnlySequence<byte> _malformed;
    private Point _point = null!;
    private DateTimeOffset _receivedAt;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSmartCityPipeline(new ConfigurationBuilder().Build());
        var provider = services.BuildServiceProvider();
        _decoder = provider.GetRequiredService<MessageDecoder>();
        _deadLetters = provider.GetRequiredService<DeadLetters>();

        var now = DateTimeOffset.UtcNow;
        var fleet = new StreetLightFleet(1_000, 4, "city", 1, now.AddHours(-1), TimeSpan.FromMinutes(1));
        var message = fleet.Create(12_345);
        _topic = message.Topic;
        _payload = new ReadOnlySequence<byte>(message.Payload);
        // Truncated JSON: the most common broken payload (a torn or cut-off write on the device).
        _malformed = new ReadOnlySequence<byte>(message.Payload.AsMemory(0, message.Payload.Length / 2));
        _receivedAt = now;
        var outcome = _decoder.Decode(_topic, _payload, _receivedAt);
        _point = outcome.Status == DecodeStatus.Accepted
            ? outcome.Result.Point!
            : throw new InvalidOperationException($"the worker's decoder rejects the simulator's payload: {outcome.Result}");
    }

    /// <summary>Reference: parsing the payload into a JsonDocument, nothing else.</summary>
    [Benchmark]
    public int JsonDocumentParseOnly()
    {
        using var document = JsonDocument.Parse(_payload);
        return document.RootElement.GetPropertyCount();
    }

    /// <summary>Topic, size and JSON checks, ranges: message to point.</summary>
    [Benchmark]
    public DecodeOutcome Decode() => _decoder.Decode(_topic, _payload, _receivedAt);

    /// <summary>Point to InfluxDB line protocol (nanosecond timestamp, escaped tags).</summary>
    [Benchmark]
    public string FormatLine() => LineProtocol.Format(_point);

    /// <summary>The whole per-message work of an accepted message.</summary>
    [Benchmark(Baseline = true)]
    public string DecodeAndFormat()
    {
        var outcome = _decoder.Decode(_topic, _payload, _receivedAt);
        return LineProtocol.Format(outcome.Result.Point!);
    }

    /// <summary>The whole per-message work of a rejected message: decode, dead letter, its line.</summary>
    [Benchmark]
    public string RejectAndDeadLetter()
    {
        var outcome = _decoder.Decode(_topic, _malformed, _receivedAt);
        return LineProtocol.Format(_deadLetters.Create(_topic, _malformed, outcome.Result, outcome.Topic, _receivedAt));
    }
}
