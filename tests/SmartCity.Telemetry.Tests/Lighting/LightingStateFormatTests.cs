using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.Telemetry.Tests.Lighting;

/// <summary>
/// <c>lighting.json</c> keeps its format whatever lighting holds per lamp in memory: the fixture
/// <c>lighting-wt-int.json</c> was written by the code before lamps became one record each (branch
/// wt-int, 2c8462e) from <see cref="Play"/>'s messages, and today's code must write the same file from the
/// same messages, and load that file and write it back unchanged.
/// </summary>
public sealed partial class LightingStateFormatTests : IDisposable
{
    internal static readonly DateTimeOffset Start = new(2026, 12, 7, 16, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-lampfile-" + Guid.NewGuid().ToString("N"));

    public LightingStateFormatTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>As the state file writes its text ('+' of an offset as is).</summary>
    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Lighting", "lighting-wt-int.json");

    [Fact]
    public async Task Save_SameMessagesAsWtInt_WritesTheSameFile()
    {
        using var city = new LampCity(_dir);
        await Play(city);

        // Command ids carry a random part: everything else must be the same bytes.
        Assert.Equal(WithoutRandom(File.ReadAllText(Fixture)), WithoutRandom(File.ReadAllText(city.StateFile)));
    }

    [Fact]
    public async Task Load_FileWrittenByWtInt_WrittenBackUnchangedButForTheNewBirth()
    {
        File.Copy(Fixture, Path.Combine(_dir, "lighting.json"));
        using var city = new LampCity(_dir);

        // The births of the file are known: the same birth again changes nothing and saves nothing.
        city.Publish("lamp-01/status", Birth(Start.AddMinutes(-10), "+01:00", "cab-1"));
        await city.Lighting.TickAsync(CancellationToken.None);
        Assert.Equal(File.ReadAllBytes(Fixture), File.ReadAllBytes(city.StateFile));

        // A newer birth of lamp-04 (no level, so nothing is re-sent) replaces its birth time only.
        var at = Start.AddMinutes(30);
        city.Time.SetUtcNow(at);
        city.Publish("lamp-04/status", Birth(at, "+02:00", "cab-2"));
        await city.Lighting.TickAsync(CancellationToken.None);

        var expected = JsonNode.Parse(File.ReadAllText(Fixture))!;
        expected["births"]!["lamp-04"] = at.ToOffset(TimeSpan.FromHours(2));
        Assert.Equal(expected.ToJsonString(Unescaped), File.ReadAllText(city.StateFile));
    }

    /// <summary>
    /// Six lamps of two cabinets, births with and without a cabinet and with offsets, two hours of readings (energy), a command (pending, level, history), a lamp born again.
    /// </summary>
    private static async Task Play(LampCity city)
    {
        for (var i = 1; i <= 6; i++)
        {
            var offset = i % 2 == 0 ? "+02:00" : "+01:00";
            city.Publish($"lamp-{i:00}/status", Birth(Start.AddMinutes(-10), offset, i == 6 ? null : i <= 3 ? "cab-1" : "cab-2"));
        }

        for (var minute = 0; minute <= 120; minute += 30)
        {
            city.Time.SetUtcNow(Start.AddMinutes(minute));
            for (var i = 1; i <= 6; i++)
            {
                city.Publish($"lamp-{i:00}/telemetry", Reading(Start.AddMinutes(minute), on: true, dim: i * 10 + minute / 10, power: i * 5 + minute / 20.0));
            }
        }

        await city.Lighting.TickAsync(CancellationToken.None);
        var (receipt, refusal) = await city.Lighting.SubmitAsync(
            new CommandRequest { TargetKind = TargetKind.Lamp, Target = "lamp-02", On = true, DimPct = 40, By = "test", Reason = "format" },
            CancellationToken.None);
        Assert.Null(refusal);
        Assert.Single(receipt!.Sent);
        city.Time.Advance(TimeSpan.FromMinutes(1));
        city.Publish("lamp-01/status", Birth(Start.AddHours(2).AddMinutes(1), "+01:00", "cab-1"));
        await city.Lighting.TickAsync(CancellationToken.None);
    }

    internal static string Birth(DateTimeOffset at, string offset, string? parent)
    {
        var local = at.ToOffset(TimeSpan.Parse(offset.TrimStart('+'), CultureInfo.InvariantCulture));
        var cabinet = parent is null ? "" : $",\"parent\":\"{parent}\"";
        return $"{{\"v\":1,\"ts\":\"{local:yyyy-MM-ddTHH:mm:ss.fff}{offset}\",\"online\":true,\"profile\":\"streetlight\"{cabinet}}}";
    }

    internal static string Reading(DateTimeOffset at, bool on, double dim, double power) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"v\":1,\"ts\":\"{at.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}Z\",\"on\":{(on ? "true" : "false")},\"dim_pct\":{dim},\"power_w\":{power}}}");

    private static string WithoutRandom(string json) => CommandId().Replace(json, "cmd-$1-x");

    [GeneratedRegex("cmd-([0-9]{17})-[0-9a-f]{8}")]
    private static partial Regex CommandId();

    /// <summary>Commands go nowhere: the file, not the transport, is under test.</summary>
    internal sealed class NoChannel : ICommandChannel
    {
        public Task SendAsync(LampCommand command, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The worker's decoder, registry and lighting control, fed one message at a time as the ingest stage does.</summary>
    internal sealed class LampCity : IDisposable
    {
        private readonly MessageDecoder _decoder;
        private readonly DeviceRegistry _registry;
        private readonly DurableSpool _spool;
        private readonly AlertingService _alerting;

        public LampCity(string dir)
        {
            StateFile = Path.Combine(dir, "lighting.json");
            (_decoder, _registry, _spool, _alerting, Lighting) = LightingRig.Create(dir, ProfileLoader.LoadAll(null), new PipelineMetrics(), Time, new NoChannel());
        }

        public FakeTimeProvider Time { get; } = new(Start.AddMinutes(-5));

        public string StateFile { get; }

        public LightingService Lighting { get; }

        /// <summary><paramref name="path"/> under <c>city/lighting/d01/quay/streetlight/</c>.</summary>
        public void Publish(string path, string json)
        {
            var receivedAt = Time.GetUtcNow();
            var decoded = _decoder.Decode("city/lighting/d01/quay/streetlight/" + path, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), receivedAt);
            var outcome = _registry.Admit(decoded, receivedAt);
            Assert.True(outcome.Status == DecodeStatus.Accepted, $"{path}: {outcome.Result.Reason} {outcome.Result.Detail}");
            Lighting.Observe(outcome.Topic!.Value, outcome.Result.Point!, receivedAt);
        }

        public void Dispose()
        {
            _alerting.Dispose();
            _spool.Dispose();
        }
    }
}
