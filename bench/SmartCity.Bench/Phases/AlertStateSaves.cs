using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using SmartCity.Bench.Infrastructure;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Bench.Phases;

/// <summary>
/// What saving the alert state costs during a burst of transitions (no servers): an engine that
/// knows <c>--devices</c> devices sees <c>--transitions</c> doors forced, one new alert each, and
/// saves either on every transition (the old policy, the engine's own store) or through the
/// debounced <see cref="AlertStateSaver"/> (the worker's). Prints bytes written to the state files,
/// saves, the time the alert thread spent, and the time until the state was on disk.
/// </summary>
public static class AlertStateSaves
{
    public static async Task<int> RunAsync(Args args)
    {
        var devices = args.Int("--devices", 100_000);
        var transitions = args.Int("--transitions", 10_000);
        var modes = args.String("--modes", "old,debounced").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var delay = TimeSpan.FromMilliseconds(args.Double("--delay-ms", 1_000));
        args.EnsureAllRead();
        if (transitions > devices)
        {
            throw new ArgumentException("--transitions must not exceed --devices (one forced door each)");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alert-saves: {devices} devices, {transitions} transitions, debounce {delay.TotalMilliseconds} ms, state under {Path.GetTempPath()}"));
        Console.WriteLine("mode       transitions  saves  bytes written   alert thread s  until saved s");
        foreach (var mode in modes)
        {
            if (mode is not ("old" or "debounced"))
            {
                throw new ArgumentException($"--modes: '{mode}' is neither old nor debounced");
            }

            await RunOnceAsync(mode == "debounced", devices, transitions, delay);
        }

        return 0;
    }

    private static async Task RunOnceAsync(bool debounced, int devices, int transitions, TimeSpan delay)
    {
        var directory = Path.Combine(Path.GetTempPath(), "smartcity-bench-alert-saves-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var options = new AlertingOptions { StateFile = Path.Combine(directory, "alerts.json"), StateSaveDelay = delay };
            var store = new AlertStore(options.StateFile);
            var engine = new AlertEngine(options, ProfileLoader.LoadAll(null).Profiles, null, TimeProvider.System, store);
            var now = DateTimeOffset.UtcNow;

            // The fleet, known before the burst (not measured): lamps, and the doors to be forced.
            var doors = new Point[transitions];
            for (var i = 0; i < devices; i++)
            {
                if (i < transitions)
                {
                    var door = new DeviceTopic("security", $"d{i % 20:00}", $"site-{i % 500}", "door_contact", $"door-{i:000000}", MessageKind.Event);
                    engine.Observe(Point.ForDevice("security_event", now, door).Field("event", "closed"), "door_contact");
                    doors[i] = Point.ForDevice("security_event", now.AddSeconds(1), door).Field("event", "forced");
                }
                else
                {
                    engine.Observe(Point.ForDevice("street_light", now, new DeviceTopic("lighting", $"d{i % 20:00}", $"site-{i % 500}", "streetlight", $"lamp-{i:000000}", MessageKind.Telemetry)), "streetlight");
                }
            }

            engine.Save();
            using var disk = new DiskHealth();
            using var saver = debounced ? new AlertStateSaver(engine, store, delay, TimeProvider.System, disk, NullLogger.Instance) : null;
            var bytesBefore = store.BytesWritten;

            var clock = Stopwatch.StartNew();
            var raised = 0;
            foreach (var point in doors)
            {
                raised += engine.Observe(point, "door_contact").Count;
            }

            var alertThread = clock.Elapsed;
            // Then what a graceful stop does in either policy: the latest state on disk, devices' liveness included.
            long saves;
            if (saver is not null)
            {
                await saver.StopAsync();
                saves = saver.Saves;
            }
            else
            {
                engine.Save();
                saves = raised + 1;   // one save per transition, and the stop's
            }

            var untilSaved = clock.Elapsed;
            if (raised != transitions)
            {
                throw new InvalidOperationException($"{raised} alerts raised, expected {transitions}");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(debounced ? "debounced" : "old"),-10} {transitions,11}  {saves,5}  {store.BytesWritten - bytesBefore,13:N0}   {alertThread.TotalSeconds,14:F2}  {untilSaved.TotalSeconds,13:F2}"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
