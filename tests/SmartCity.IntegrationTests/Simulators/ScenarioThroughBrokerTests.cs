using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Publishing;
using SmartCity.Simulators.Scenarios;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.IntegrationTests.Simulators;

/// <summary>Scenario runs through the real mosquitto: what a subscriber (or the worker) receives is what the scenario says.</summary>
public sealed class ScenarioThroughBrokerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Scenario Load(string name)
    {
        // The scenario files live in the repository, beside the simulator.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "simulators", "scenarios")))
        {
            dir = dir.Parent;
        }

        return Scenario.Load(Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("simulators/scenarios"), "simulators", "scenarios", name + ".json"));
    }

    /// <summary>Fixed, past start (local midnight two days ago) so the expected stream can be generated beside the run.</summary>
    private static Scenario InThePast(Scenario s, string topicRoot)
    {
        var start = s.ResolveStart(DateTimeOffset.UtcNow.AddDays(-1));
        return s with { Start = start, TopicRoot = topicRoot };
    }

    private static List<ScenarioMessage> Expected(Scenario s)
    {
        using var generator = new CityGenerator(s, s.Start!.Value, s.Start.Value + s.Duration);
        return generator.Messages().ToList();
    }

    private sealed record Received(string Topic, byte[] Payload, bool Retain);

    /// <summary>A plain MQTT subscriber on the scenario's topic tree.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _wanted = int.MaxValue;

        public ConcurrentQueue<Received> Messages { get; } = new();

        public static async Task<Subscriber> StartAsync(string topicRoot)
        {
            var s = new Subscriber();
            s._client.ApplicationMessageReceivedAsync += e =>
            {
                s.Messages.Enqueue(new Received(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain));
                if (s.Messages.Count >= Volatile.Read(ref s._wanted))
                {
                    s._enough.TrySetResult();
                }

                return Task.CompletedTask;
            };
            await s._client.ConnectAsync(new MqttClientOptionsBuilder()
                .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
                .WithCredentials(TestServers.MqttUsername, TestServers.MqttPassword)
                .WithClientId(TestServers.UniqueName("sub-"))
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithReceiveMaximum(10_000)
                .Build());
            await s._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(new MqttTopicFilterBuilder().WithTopic(topicRoot + "/#").WithAtLeastOnceQoS().WithRetainAsPublished(true).Build())
                .Build());
            return s;
        }

        public async Task WaitForAsync(int count)
        {
            Volatile.Write(ref _wanted, count);
            if (Messages.Count >= count)
            {
                return;
            }

            await _enough.Task.WaitAsync(Timeout);
        }

        public async ValueTask DisposeAsync()
        {
            await _client.DisconnectAsync();
            _client.Dispose();
        }
    }

    private static bool Has(Received r, string device, string kind) => r.Topic.EndsWith($"/{device}/{kind}", StringComparison.Ordinal);

    private static string Text(Received r) => Encoding.UTF8.GetString(r.Payload);

    [Fact]
    public async Task LightingFaults_GatewaysInLoadMode_EveryFaultArrivesThroughMosquitto()
    {
        var root = TestServers.UniqueName("t") + "/city";
        var scenario = InThePast(Load("lighting-faults"), root);
        var expected = Expected(scenario);
        await using var subscriber = await Subscriber.StartAsync(root);
        var counters = new RunCounters();
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker, ClientIdPrefix = TestServers.UniqueName("sim-"), Gateways = 3, Load = true };

        await using (var transport = new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters))
        {
            var result = await ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System);
            Assert.Equal(expected.Count, result.Acknowledged);
            Assert.Equal(0, result.Failed);
        }

        await subscriber.WaitForAsync(expected.Count);
        var got = subscriber.Messages.ToList();

        // The whole stream, byte for byte (order per device is kept: one device, one gateway).
        Assert.Equal(expected.Select(m => (m.Topic, Convert.ToBase64String(m.Payload))).Order(), got.Select(r => (r.Topic, Convert.ToBase64String(r.Payload))).Order());
        foreach (var device in expected.GroupBy(m => m.DeviceId))
        {
            Assert.Equal(device.Select(m => m.Payload), got.Where(r => r.Topic.Contains($"/{device.Key}/", StringComparison.Ordinal)).Select(r => r.Payload));
        }

        // Faults as the scenario schedules them.
        var malformed = expected.Where(m => m.Fault == FaultKind.MalformedBurst).Select(m => Convert.ToBase64String(m.Payload)).ToList();
        Assert.Equal(18, malformed.Count);
        Assert.Equal(malformed, got.Where(r => Has(r, "lamp-000006", "telemetry")).Select(r => Convert.ToBase64String(r.Payload)).Where(malformed.Contains));
        Assert.Contains(got, r => Has(r, "lamp-000003", "telemetry") && Text(r).Contains("\"faults\":[\"lamp_failure\"]", StringComparison.Ordinal));
        Assert.Contains(got, r => Has(r, "lamp-000004", "telemetry") && Text(r).Contains("\"faults\":[\"driver_failure\"]", StringComparison.Ordinal));
        Assert.Contains(got, r => Has(r, "cab-000002", "event") && Text(r).Contains("\"event\":\"mains_lost\"", StringComparison.Ordinal));
        Assert.Contains(got, r => Has(r, "cab-000002", "event") && Text(r).Contains("\"event\":\"mains_restored\"", StringComparison.Ordinal));
        // Its lamps' wills, published by their gateway, retained.
        Assert.Equal(20, got.Count(r => r.Topic.EndsWith("/status", StringComparison.Ordinal) && Text(r) == """{"v":1,"online":false}""" && r.Retain));
        Assert.Equal(42 + 20, got.Count(r => r.Topic.EndsWith("/status", StringComparison.Ordinal) && Text(r).Contains("\"online\":true", StringComparison.Ordinal) && r.Retain));
    }

    [Fact]
    public async Task SecurityFaults_OneConnectionPerDevice_TheBrokerPublishesTheLastWill()
    {
        var root = TestServers.UniqueName("t") + "/city";
        var scenario = InThePast(Load("security-faults"), root);
        var expected = Expected(scenario);
        await using var subscriber = await Subscriber.StartAsync(root);
        var counters = new RunCounters();
        // Device mode logs every device in under its own id (the broker has no anonymous access and
        // its ACL lets a device publish only its own topics): provision them all, one password.
        var devicePassword = SmartCity.Provisioning.DeviceStore.NewPassword();
        await BrokerAccounts.ProvisionAsync(expected.Select(m => m.Topic.Split('/')).DistinctBy(t => t[^2]).Select(t => (t[^2], new SmartCity.Provisioning.DevicePlacement(string.Join('/', t[..^6]), t[^6], t[^5], t[^4], t[^3]))).ToList(), devicePassword);
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker with { Password = devicePassword }, ClientIdPrefix = TestServers.UniqueName("sim-"), Connections = ConnectionMode.Device, Load = true };

        await using (var transport = new DeviceConnectionsTransport(options.Broker, options.ClientIdPrefix, 8, options.Qos, counters))
        {
            var result = await ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System);
            Assert.Equal(expected.Count, result.Acknowledged);
            Assert.Equal(0, result.Failed);
        }

        await subscriber.WaitForAsync(expected.Count);
        var got = subscriber.Messages.ToList();

        // In device mode the simulator never publishes a will itself: these came from mosquitto.
        var cameraStatus = got.Where(r => Has(r, "cam-000001", "status")).Select(Text).ToList();
        Assert.Equal(3, cameraStatus.Count);
        Assert.Contains("\"online\":true", cameraStatus[0], StringComparison.Ordinal);
        Assert.Equal("""{"v":1,"online":false}""", cameraStatus[1]);
        Assert.Contains("\"online\":true", cameraStatus[2], StringComparison.Ordinal);
        Assert.Contains(got, r => Has(r, "pir-000004", "status") && Text(r) == """{"v":1,"online":false}""");
        Assert.Contains(got, r => Has(r, "door-000002", "event") && Text(r).Contains("\"event\":\"forced\"", StringComparison.Ordinal));
        Assert.Contains(got, r => Has(r, "panel-000002", "event") && Text(r).Contains("\"event\":\"alarm\"", StringComparison.Ordinal));
        var malformed = expected.Where(m => m.Fault == FaultKind.MalformedBurst).Select(m => Convert.ToBase64String(m.Payload)).ToList();
        Assert.Equal(9, malformed.Count);
        Assert.Equal(malformed, got.Where(r => Has(r, "door-000003", "telemetry")).Select(r => Convert.ToBase64String(r.Payload)).Where(malformed.Contains));

        // Births are retained: a newcomer learns every device and its place at once.
        await using var late = await Subscriber.StartAsync(root);
        await late.WaitForAsync(scenario.TotalDevices);
        Assert.All(late.Messages, r => Assert.True(r.Retain && r.Topic.EndsWith("/status", StringComparison.Ordinal)));
        Assert.Equal(scenario.TotalDevices, late.Messages.Select(r => r.Topic).Distinct().Count());
    }

    [Fact]
    public async Task LightingFaults_ThroughTheWorker_EveryValidReadingStoredAndTheBurstDeadLettered()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var scenario = InThePast(Load("lighting-faults"), worker.TopicRoot);
        var expected = Expected(scenario);
        var decoderOptions = Options.Create(new DecodingOptions { TopicRoot = worker.TopicRoot });
        var decoder = new MessageDecoder(decoderOptions, SmartCity.Telemetry.Devices.Profiles.ProfileLoader.LoadAll(null), []);
        var now = DateTimeOffset.UtcNow;
        var stored = expected
            .Where(m => m.Topic.EndsWith("/telemetry", StringComparison.Ordinal) && m.Topic.Contains("/streetlight/", StringComparison.Ordinal))
            .Where(m => decoder.Decode(m.Topic, new ReadOnlySequence<byte>(m.Payload), now).Status == DecodeStatus.Accepted)
            .Select(m => (m.DeviceId, m.Timestamp)).Distinct().Count();
        var counters = new RunCounters();
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker, ClientIdPrefix = TestServers.UniqueName("sim-"), Load = true };

        await using (var transport = new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters))
        {
            await ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System);
        }

        // Acknowledged means safe in the spool; stored means the spool is empty again.
        await worker.Metrics.WaitUntilAsync(s => s.Acknowledged >= expected.Count && s.SpoolDepth == 0, Timeout);
        // Acknowledgements count a message a gateway published again (its retry under load): the counts are waited for.
        Assert.Equal(stored, await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(power_w) FROM street_light"), n => n >= stored, Timeout));
        // The malformed burst of the scenario, dead-lettered with its reasons.
        Assert.Equal(18, await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(payload_bytes) FROM dead_letter WHERE device_id = 'lamp-000006' AND topic =~ /telemetry$/"), n => n >= 18, Timeout));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }
}
