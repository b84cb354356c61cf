using System.Buffers;
using System.Text;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Sinks.Influx;
using SmartCity.Telemetry.Tests.Source;

namespace SmartCity.Telemetry.Tests.Pipeline;

/// <summary>
/// Vector's component spec for every stage: each type marked <see cref="IStage"/> is driven with
/// messages that it passes on, fails on and drops, and its four counters must all move. A stage
/// added without a driver here fails <see cref="EveryStage_HasAComplianceDriver"/>.
/// </summary>
public sealed class StageComplianceTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly Dictionary<Type, Func<StageComplianceTests, Task<StageCounters>>> Drivers = new()
    {
        [typeof(MqttSource)] = t => t.DriveSourceAsync(),
        [typeof(IngestStage)] = t => t.DriveIngestAsync(),
        [typeof(DurableSpool)] = t => t.DriveSpoolAsync(),
        [typeof(InfluxSink)] = t => t.DriveInfluxSinkAsync(),
    };

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-stages-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly PipelineMetrics _metrics = new();
    private readonly List<IDisposable> _owned = [];

    public static TheoryData<string> Stages() => [.. Drivers.Keys.Select(t => t.Name)];

    [Fact]
    public void EveryStage_HasAComplianceDriver()
    {
        var stages = typeof(IStage).Assembly.GetTypes()
            .Where(t => typeof(IStage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .ToList();

        Assert.NotEmpty(stages);
        Assert.All(stages, t => Assert.True(Drivers.ContainsKey(t), $"{t.FullName} is a stage without a driver in {nameof(StageComplianceTests)}"));
    }

    [Theory]
    [MemberData(nameof(Stages))]
    public async Task Stage_DrivenWithPassingFailingAndDroppedMessages_AllFourCountersMove(string stage)
    {
        var counters = await Drivers.Single(d => d.Key.Name == stage).Value(this);

        var s = counters.Snapshot();
        Assert.True(s.Received > 0, $"{stage}: received did not move ({s})");
        Assert.True(s.Sent > 0, $"{stage}: sent did not move ({s})");
        Assert.True(s.Errors > 0, $"{stage}: errors did not move ({s})");
        Assert.True(s.Discarded > 0, $"{stage}: discarded did not move ({s})");
    }

    private async Task<StageCounters> DriveSourceAsync()
    {
        var client = new FakeMqttSourceClient();
        var source = Own(new MqttSource(
            Options.Create(new MqttSourceOptions { Host = "broker.test", Subscriptions = ["city/#"] }),
            new NullHandler(), _metrics, _time, NullLogger<MqttSource>.Instance, client));
        await source.StartAsync(CancellationToken.None);
        await client.Subscribed.Task.WaitAsync(Timeout);

        await client.DeliverAsync("city/a", new object());
        await client.DropAsync();
        await source.StopAsync(CancellationToken.None);
        await client.DeliverAsync("city/late", new object());
        return source.Counters;
    }

    private async Task<StageCounters> DriveIngestAsync()
    {
        var spool = await StartSpoolAsync();
        var profiles = ProfileLoader.LoadAll(null);
        var registry = Own(new DeviceRegistry(Options.Create(new RegistryOptions { File = Path.Combine(_dir, "registry.json") }), _time, NullLogger<DeviceRegistry>.Instance));
        var alerting = Own(new AlertingService(
            Options.Create(new AlertingOptions { StateFile = Path.Combine(_dir, "alerts.json") }),
            profiles, spool, _metrics, [], _time, new DiskHealth(), NullLogger<AlertingService>.Instance));
        var ingest = new IngestStage(
            new MessageDecoder(Options.Create(new DecodingOptions()), profiles, []),
            registry, alerting, spool, _metrics, new DeadLetters(), _time, NullLogger<IngestStage>.Instance);

        await ingest.HandleAsync("not a device topic", Payload("{}"), NoAck, CancellationToken.None);
        await ingest.HandleAsync("city/lighting/d01/s1/streetlight/l1/cmd", Payload("{}"), NoAck, CancellationToken.None);
        return ingest.Counters;
    }

    private async Task<StageCounters> DriveSpoolAsync()
    {
        var spool = await StartSpoolAsync();
        Assert.True(await spool.AppendAsync(new BufferedMessage("m f=1 1", false, _ => throw new InvalidOperationException("connection gone")), CancellationToken.None));
        Assert.True(await spool.AppendAsync(new BufferedMessage(null, false, NoAck), CancellationToken.None));
        await _metrics.WaitUntilAsync(_ => spool.Counters.Snapshot() is { Errors: > 0, Discarded: > 0 }, Timeout);
        return spool.Counters;
    }

    private async Task<StageCounters> DriveInfluxSinkAsync()
    {
        var spool = await StartSpoolAsync();
        var sink = Own(new InfluxSink(
            spool,
            new PartialWriter(),
            _metrics,
            new DeadLetters(),
            Options.Create(new InfluxSinkOptions
            {
                Url = "http://unused", Token = "t", Org = "o", Bucket = "b", BatchSize = 100, BatchLinger = TimeSpan.Zero,
                RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(30),
            }),
            _time,
            NullLogger<InfluxSink>.Instance));
        await sink.StartAsync(CancellationToken.None);
        Assert.True(await spool.AppendAsync(new BufferedMessage("m f=1 1", false, NoAck), CancellationToken.None));
        Assert.True(await spool.AppendAsync(new BufferedMessage("bad f=2 2", false, NoAck), CancellationToken.None));
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1 && s.LinesDroppedByDatabase == 1, Timeout);
        spool.CompleteIntake();
        await sink.StopAsync(CancellationToken.None);
        return sink.Counters;
    }

    private async Task<DurableSpool> StartSpoolAsync()
    {
        var spool = Own(new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "spool-" + Guid.NewGuid().ToString("N")), Fsync = false }),
            _metrics,
            _time,
            NullLogger<DurableSpool>.Instance));
        await spool.StartAsync(CancellationToken.None);
        return spool;
    }

    private static ReadOnlySequence<byte> Payload(string json) => new(Encoding.UTF8.GetBytes(json));

    private static Task NoAck(CancellationToken cancellationToken) => Task.CompletedTask;

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        _metrics.Dispose();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private sealed class NullHandler : IMessageHandler
    {
        public Task HandleAsync(string topic, ReadOnlySequence<byte> payload, Func<CancellationToken, Task> acknowledge, CancellationToken intake) => Task.CompletedTask;

        public Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Like InfluxDB's partial write: good lines are stored, a line starting with "bad " is refused with 400.</summary>
    private sealed class PartialWriter : IPointWriter
    {
        public Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            var bad = Encoding.UTF8.GetString(body.Span).Split('\n').FirstOrDefault(l => l.StartsWith("bad ", StringComparison.Ordinal));
            return bad is null ? Task.CompletedTask : throw new HttpException($"partial write: unable to parse '{bad}' dropped=1", 400);
        }

        public Task<bool> PingAsync(CancellationToken cancellationToken) => Task.FromResult(true);
    }
}
