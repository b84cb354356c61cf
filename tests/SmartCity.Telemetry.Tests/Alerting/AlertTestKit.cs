using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// One engine on a fake clock with the built-in profiles, and points stamped with that clock (so
/// device time and engine time advance together unless a test says otherwise). Each kit owns a
/// temporary state file, so tests never share state.
/// </summary>
internal sealed class AlertTestKit : IDisposable
{
    /// <summary>Wednesday 2026-11-25 12:00 UTC (13:00 in Utrecht): a school day, sun up.</summary>
    public static readonly DateTimeOffset Noon = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<IReadOnlyList<DeviceProfile>> BuiltIn = new(() => ProfileLoader.LoadAll(null).Profiles);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-alerts-" + Guid.NewGuid().ToString("N"));

    public AlertTestKit(DateTimeOffset? start = null, Action<AlertingOptions>? configure = null, CityRules? rules = null, bool persist = true)
    {
        Directory.CreateDirectory(_dir);
        Time = new FakeTimeProvider(start ?? Noon);
        Options = new AlertingOptions { StateFile = Path.Combine(_dir, "alerts.json") };
        configure?.Invoke(Options);
        Rules = rules;
        Persist = persist;
        Engine = NewEngine();
    }

    public FakeTimeProvider Time { get; }

    public AlertingOptions Options { get; }

    public CityRules? Rules { get; }

    public bool Persist { get; }

    public AlertEngine Engine { get; private set; }

    public List<AlertTransition> Seen { get; } = [];

    /// <summary>What the worker's intake holds (unacknowledged messages, observations queued), as the engine reads it.</summary>
    public long Held { get; set; }

    public static IReadOnlyList<DeviceProfile> Profiles => BuiltIn.Value;

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>A new engine on the same state file: what a worker restart does.</summary>
    public AlertEngine Restart() => Engine = NewEngine();

    public void Advance(TimeSpan by) => Time.Advance(by);

    public IReadOnlyList<AlertTransition> Observe(Point point, string profileId) => Record(Engine.Observe(point, profileId));

    public IReadOnlyList<AlertTransition> Tick() => Record(Engine.Tick());

    public IReadOnlyList<AlertTransition> Record(IReadOnlyList<AlertTransition> transitions)
    {
        Seen.AddRange(transitions);
        return transitions;
    }

    public static Point Lamp(DateTimeOffset ts, string device = "lamp-1", string district = "north", string site = "park") =>
        Point.ForDevice("street_light", ts, new DeviceTopic("lighting", district, site, "streetlight", device, MessageKind.Telemetry));

    public static Point Classroom(DateTimeOffset ts, string device = "cls-1", string district = "north", string site = "school-1") =>
        Point.ForDevice("classroom_env", ts, new DeviceTopic("education", district, site, "classroom_env", device, MessageKind.Telemetry));

    public static Point Cabinet(DateTimeOffset ts, string device = "cab-1") =>
        Point.ForDevice("lighting_cabinet", ts, new DeviceTopic("lighting", "north", "depot", "lighting_cabinet", device, MessageKind.Telemetry));

    public static Point DoorEvent(DateTimeOffset ts, string ev, string device = "door-1") =>
        Point.ForDevice("security_event", ts, new DeviceTopic("security", "north", "town-hall", "door_contact", device, MessageKind.Event)).Field("event", ev);

    public static Point MotionEvent(DateTimeOffset ts, string ev, string device = "pir-1") =>
        Point.ForDevice("security_event", ts, new DeviceTopic("security", "north", "town-hall", "motion_detector", device, MessageKind.Event)).Field("event", ev);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test over it would hide the real result.
        }
    }

    private AlertEngine NewEngine() =>
        new(Options, Profiles, Rules, Time, Persist ? new AlertStore(Options.StateFile) : null, held: () => Held);
}
