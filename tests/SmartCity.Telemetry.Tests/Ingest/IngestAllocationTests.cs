using System.Buffers;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Simulators.Lighting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Tests.Source;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Ingest;

/// <summary>
/// Bytes allocated per message on the worker's receive path (issue 25: about 4 KB per message at
/// max rate, GC up to 10 % of the time). The pipeline is the worker's own, built by its composition
/// root; messages are the e2e bench's load (the simulator's street-light telemetry, every profile
/// field) from lamps that announced themselves. Allocation counts do not depend on the machine's load.
/// </summary>
public sealed class IngestAllocationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Lamps = 1_000;
    private const int Messages = 1_000;
    private const int Rounds = 4;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-ingest-alloc-" + Guid.NewGuid().ToString("N"));
    private readonly List<IHostedService> _started = [];
    private ServiceProvider _services = null!;
    private StreetLightFleet _fleet = null!;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Spool:Directory"] = Path.Combine(_dir, "spool"),
            ["Spool:Fsync"] = "false",
            ["Registry:File"] = Path.Combine(_dir, "registry.json"),
            ["Alerting:StateFile"] = Path.Combine(_dir, "alerts.json"),
            ["Lighting:StateFile"] = Path.Combine(_dir, "lighting.json"),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        // The worker's meters come from its IMeterFactory (a test's listener tells this pipeline's instruments apart by it).
        services.AddMetrics();
        services.AddSmartCityPipeline(configuration);
        _services = services.BuildServiceProvider();
        foreach (var type in new[] { typeof(DeviceRegistry), typeof(DurableSpool), typeof(AlertingService) })
        {
            var service = (IHostedService)_services.GetRequiredService(type);
            await service.StartAsync(CancellationToken.None);
            _started.Add(service);
        }

        _fleet = new StreetLightFleet(Lamps, 4, "city", 1, DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromSeconds(1));
        var ingest = _services.GetRequiredService<IngestStage>();
        foreach (var lamp in _fleet.Lamps)
        {
            var birth = _fleet.Birth(lamp, DateTimeOffset.UtcNow);
            await ingest.HandleAsync(birth.Topic, new ReadOnlySequence<byte>(birth.Payload), _ => Task.CompletedTask, CancellationToken.None);
        }
    }

    public async Task DisposeAsync()
    {
        _services.GetRequiredService<DurableSpool>().CompleteIntake();
        foreach (var service in Enumerable.Reverse(_started))
        {
            await service.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// MQTT source (its ack per message), ingest stage (decode, registry, alerting, lighting, the line)
    /// and the spool's intake, on the delivering thread: 2,185 bytes per message on 14b8b4e, about
    /// 1,130 since lines go to the spool as UTF-8 without a string and alerting and lighting observe
    /// without a closure or a new object per reading. The margin covers arena chunks first needed in
    /// a measured round (at most 32 KB per 90 lines, once) and the queues' arrays growing once.
    /// </summary>
    [Fact]
    public async Task IngestStage_4000StreetLightMessagesFromTheSource_AllocatesAtMost1300BytesPerMessage()
    {
        const int Budget = 1_300;
        var metrics = _services.GetRequiredService<PipelineMetrics>();
        var spool = _services.GetRequiredService<DurableSpool>();
        var alerting = _services.GetRequiredService<AlertingService>();
        var client = new FakeMqttSourceClient();
        using var source = await StartSourceAsync(metrics, client);

        long allocated = 0;
        long acknowledged = metrics.Snapshot().Acknowledged;
        for (var round = 0; round <= Rounds; round++)
        {
            var batch = Batch(round);
            var total = GC.GetTotalAllocatedBytes(true);
            var bytes = Measure(i => client.MessageReceived!(new SourceMessage(batch[i].Topic, batch[i].Payload, batch)).Wait());
            acknowledged += Messages;
            await metrics.WaitUntilAsync(s => s.Acknowledged >= acknowledged && alerting.QueueDepth == 0, Timeout);
            output.WriteLine($"round {round}: {bytes} B/msg on the delivering thread, {(GC.GetTotalAllocatedBytes(true) - total) / Messages} B/msg in the process");

            // Round 0 warms up: first readings of each lamp, arena chunks, queues' arrays, tiered JIT.
            allocated += round > 0 ? bytes : 0;
        }

        Assert.Equal(Messages * (Rounds + 1), client.Acknowledged.Count);
        Assert.Equal(0, spool.QueuedForDisk);
        var perMessage = allocated / Rounds;
        output.WriteLine($"source + ingest stage: {perMessage} B per street-light message (budget {Budget})");
        PrintStages(Batch(Rounds + 1));
        await source.StopAsync(CancellationToken.None);
        Assert.True(perMessage <= Budget, $"the receive path allocated {perMessage} B per street-light message (budget {Budget})");
    }

    /// <summary>
    /// The per-message counters (messages received and accepted, each stage's received and sent) cost an
    /// interlocked add each, not a measurement through every listener: the worker's OpenTelemetry meter
    /// provider listens to them all, and at max rate six measurements per message were about 2 % of the
    /// worker's CPU (its aggregator looks the tags up per call). The exporter reads the same totals when
    /// it collects. Counted with a listener on every instrument of this pipeline's meter, as OpenTelemetry's.
    /// </summary>
    [Fact]
    public async Task IngestStage_StreetLightMessagesFromTheSource_RecordNoMeasurementPerMessageAndExportTheTotals()
    {
        var metrics = _services.GetRequiredService<PipelineMetrics>();
        var factory = _services.GetRequiredService<IMeterFactory>();
        long measurements = 0;
        var observed = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == PipelineMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.IsObservable)
            {
                var stage = tags.ToArray().FirstOrDefault(t => t.Key == "stage").Value;
                observed[instrument.Name + (stage is null ? "" : "/" + stage)] = value;
            }
            else
            {
                Interlocked.Increment(ref measurements);
            }
        });
        listener.Start();
        var client = new FakeMqttSourceClient();
        using var source = await StartSourceAsync(metrics, client);

        var batch = Batch(0);
        var acknowledged = metrics.Snapshot().Acknowledged + Messages;
        foreach (var (topic, payload) in batch)
        {
            await client.MessageReceived!(new SourceMessage(topic, payload, batch));
        }

        await metrics.WaitUntilAsync(s => s.Acknowledged >= acknowledged, Timeout);
        await source.StopAsync(CancellationToken.None);
        var perThousand = Interlocked.Read(ref measurements) * 1_000 / Messages;
        output.WriteLine($"measurements recorded: {measurements} for {Messages} messages ({perThousand} per 1,000 messages)");
        // Six per message before (6,000 per 1,000); per-batch measurements (a commit, a write) stay allowed.
        Assert.True(perThousand <= 10, $"{perThousand} measurements per 1,000 messages on the receive path");

        // What an exporter collects is still every message: the totals, by instrument and stage.
        listener.RecordObservableInstruments();
        var snapshot = metrics.Snapshot();
        Assert.Equal(snapshot.Received, observed["smartcity.messages.received"]);
        Assert.Equal(snapshot.Accepted, observed["smartcity.messages.accepted"]);
        Assert.Equal(Lamps + Messages, observed["smartcity.stage.received/ingest"]);
        Assert.Equal(Lamps + Messages, observed["smartcity.stage.sent/ingest"]);
        Assert.Equal(Messages, observed["smartcity.stage.received/source"]);
        Assert.Equal(Messages, observed["smartcity.stage.sent/source"]);
        Assert.Equal(metrics.SpoolStage.Snapshot().Sent, observed["smartcity.stage.sent/spool"]);
    }

    /// <summary>Where the bytes go, stage by stage on a fresh batch (for docs/performance.md; the budget above is the test).</summary>
    private void PrintStages((string Topic, ReadOnlySequence<byte> Payload)[] batch)
    {
        var decoder = _services.GetRequiredService<MessageDecoder>();
        var registry = _services.GetRequiredService<DeviceRegistry>();
        var alerting = _services.GetRequiredService<AlertingService>();
        var observers = _services.GetServices<IDeviceMessageObserver>().ToArray();
        var now = DateTimeOffset.UtcNow;
        var outcomes = new DecodeOutcome[Messages];
        var utf8 = new byte[64 * 1024];
        output.WriteLine($"decode: {Measure(i => outcomes[i] = decoder.Decode(batch[i].Topic, batch[i].Payload, now))} B/msg");
        output.WriteLine($"registry admit: {Measure(i => outcomes[i] = registry.Admit(outcomes[i], now))} B/msg");
        output.WriteLine($"alerting observe (queued): {Measure(i => alerting.ObserveAsync(outcomes[i].Result.Point!, outcomes[i].Topic!.Value.DeviceType, CancellationToken.None).AsTask().Wait())} B/msg");
        output.WriteLine($"observers (lighting): {Measure(i =>
        {
            foreach (var observer in observers)
            {
                observer.Observe(outcomes[i].Topic!.Value, outcomes[i].Result.Point!, now);
            }
        })} B/msg");
        output.WriteLine($"line as a string (LineProtocol.Format, before): {Measure(i => LineProtocol.Format(outcomes[i].Result.Point!))} B/msg");
        output.WriteLine($"line as UTF-8 (LineProtocol.TryFormatUtf8, now): {Measure(i => LineProtocol.TryFormatUtf8(outcomes[i].Result.Point!, utf8, out _))} B/msg");
    }

    /// <summary>The worker's MQTT source over <paramref name="client"/> (no broker), feeding this pipeline's ingest stage, subscribed.</summary>
    private async Task<MqttSource> StartSourceAsync(PipelineMetrics metrics, FakeMqttSourceClient client)
    {
        var source = new MqttSource(
            Options.Create(new MqttSourceOptions { Host = "broker.test", Subscriptions = ["city/#"] }),
            _services.GetRequiredService<IngestStage>(), metrics, TimeProvider.System, NullLogger<MqttSource>.Instance, client);
        await source.StartAsync(CancellationToken.None);
        await client.Subscribed.Task.WaitAsync(Timeout);
        return source;
    }

    /// <summary>Bytes allocated on this thread per message while <paramref name="action"/> runs for each of a batch.</summary>
    private static long Measure(Action<int> action)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Messages; i++)
        {
            action(i);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / Messages;
    }

    private (string Topic, ReadOnlySequence<byte> Payload)[] Batch(int round) =>
        [.. Enumerable.Range(round * Messages, Messages).Select(k => _fleet.Create(k)).Select(m => (m.Topic, new ReadOnlySequence<byte>(m.Payload)))];
}
