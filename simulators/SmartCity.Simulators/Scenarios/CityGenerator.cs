using System.Text;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Education;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Security;

namespace SmartCity.Simulators.Scenarios;

/// <summary>What every device model shares: the scenario, the layout, the faults and the output buffer.</summary>
public sealed class GeneratorContext : IDisposable
{
    private readonly List<ScenarioMessage> _out = [];

    internal GeneratorContext(Scenario scenario, DateTimeOffset start)
    {
        Scenario = scenario;
        Start = start;
        Layout = new CityLayout(scenario);
        Faults = new FaultPlan(scenario, Layout, start);
        Lighting = new LightingSchedule(scenario);
    }

    public Scenario Scenario { get; }

    public DateTimeOffset Start { get; }

    public CityLayout Layout { get; }

    public FaultPlan Faults { get; }

    public LightingSchedule Lighting { get; }

    public PayloadWriter Writer { get; } = new();

    internal List<ScenarioMessage> Output => _out;

    internal void Add(in ScenarioMessage message) => _out.Add(message);

    public void Dispose() => Writer.Dispose();
}

/// <summary>
/// Turns a scenario into its message stream, in simulated-time order: first every device's birth
/// message, then each device type's ticks merged by time. The stream is a pure function of the
/// scenario (seed included) and the start time: the same inputs give the same bytes, however the
/// messages are published afterwards. Memory is per device (model state arrays), never per message.
/// </summary>
public sealed class CityGenerator : IDisposable
{
    private static readonly byte[] WillPayload = Encoding.UTF8.GetBytes("""{"v":1,"online":false}""");
    private readonly GeneratorContext _context;
    private readonly DeviceModel[] _models;

    /// <param name="end">Exclusive end of simulated time; null = no end (live runs).</param>
    public CityGenerator(Scenario scenario, DateTimeOffset start, DateTimeOffset? end)
    {
        Start = start;
        End = end;
        _context = new GeneratorContext(scenario, start);
        var cabinets = new LightingCabinetModel(_context);
        _models =
        [
            new StreetLightModel(_context, cabinets),
            cabinets,
            new ClassroomModel(_context),
            new DoorContactModel(_context),
            new MotionDetectorModel(_context),
            new CameraModel(_context),
            new AlarmPanelModel(_context),
            new PanicButtonModel(_context),
        ];
    }

    public DateTimeOffset Start { get; }

    public DateTimeOffset? End { get; }

    public Scenario Scenario => _context.Scenario;

    public CityLayout Layout => _context.Layout;

    public FaultPlan Faults => _context.Faults;

    public LightingSchedule Lighting => _context.Lighting;

    /// <summary>The shape a message of model <paramref name="type"/> should have when it is valid (for tests of malformed variants).</summary>
    public DeviceModel Model(DeviceType type) => _models[(int)type];

    public static byte[] Will => WillPayload;

    public IEnumerable<ScenarioMessage> Messages()
    {
        var output = _context.Output;
        foreach (var model in _models)
        {
            for (var i = 0; i < model.Count; i++)
            {
                var cursor = Cursor(model, i, Start);
                Birth(cursor, Start);
                foreach (var m in output)
                {
                    yield return m;
                }

                output.Clear();
            }
        }

        // k-th tick of a type = tick k / N of device k % N, devices staggered within the tick, so each
        // type's tick times never decrease with k and a merge by time gives the whole city in order.
        var next = new long[_models.Length];
        while (true)
        {
            var best = -1;
            var bestTime = DateTimeOffset.MaxValue;
            for (var m = 0; m < _models.Length; m++)
            {
                if (_models[m].Count == 0)
                {
                    continue;
                }

                var time = TickTime(_models[m], next[m]);
                if (time < bestTime)
                {
                    best = m;
                    bestTime = time;
                }
            }

            if (best < 0 || (End is { } end && bestTime >= end))
            {
                yield break;
            }

            var model = _models[best];
            var k = next[best]++;
            var n = k / model.Count;
            var index = (int)(k % model.Count);
            ProcessTick(model, index, n, bestTime);
            foreach (var m in output)
            {
                yield return m;
            }

            output.Clear();
        }
    }

    /// <summary>Device time of tick k of a model (whole milliseconds: device clocks tick in ms).</summary>
    public DateTimeOffset TickTime(DeviceModel model, long k)
    {
        var n = k / model.Count;
        var i = k % model.Count;
        var ticks = (model.Tick.Ticks * n) + (model.Tick.Ticks * i / model.Count);
        var t = Start.AddTicks(ticks);
        return DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());
    }

    private DeviceCursor Cursor(DeviceModel model, int index, DateTimeOffset tickTime)
    {
        var layout = _context.Layout;
        var type = model.Type;
        var prefix = layout.Topic(type, index, "");
        return new DeviceCursor(_context, type, index, layout.Key(type, index), prefix, tickTime);
    }

    private void ProcessTick(DeviceModel model, int index, long n, DateTimeOffset t)
    {
        var device = Cursor(model, index, t);
        var previous = t - model.Tick;
        var faults = _context.Faults;
        var windows = faults.OfflineWindows(device.Key);
        foreach (var w in windows)
        {
            if (w.From > previous && w.From <= t)
            {
                device.Status(WillPayload, w.From, ConnectionAction.Will, w.Cause);
            }

            if (w.To > previous && w.To <= t)
            {
                Birth(device, w.To, w.Cause);
            }
        }

        if (windows.Length > 0 && faults.IsOffline(device.Key, t))
        {
            model.OnOffline(device, t);
            return;
        }

        model.OnTick(device, n, t, previous);

        foreach (var f in faults.For(device.Key))
        {
            var at = Start + f.At;
            if (f.Kind == FaultKind.MalformedBurst && at > previous && at <= t)
            {
                MalformedPayloads.Burst(model, device, f, at, t, _context.Writer);
            }
        }
    }

    private void Birth(DeviceCursor device, DateTimeOffset at, FaultKind? cause = null)
    {
        var layout = _context.Layout;
        var (lat, lon) = layout.PositionOf(device.Type, device.Index, _context.Scenario.Seed);
        var json = device.Begin(at);
        json.WriteBoolean("online", true);
        json.WriteString("profile", device.Type.Name());
        json.WriteString("firmware", _models[(int)device.Type].Firmware);
        json.WriteNumber("lat", lat);
        json.WriteNumber("lon", lon);
        json.WriteString("district", layout.DistrictOf(device.Type, device.Index));
        json.WriteString("site", layout.SiteOf(device.Type, device.Index));
        if (device.Type == DeviceType.StreetLight && layout.CabinetOf(device.Index) is >= 0 and var cabinet)
        {
            // The cabinet that feeds the lamp: the worker groups the lamps' alerts under its mains loss.
            json.WriteString("parent", DeviceType.LightingCabinet.DeviceId(cabinet));
        }

        device.Status(_context.Writer.End(), at, ConnectionAction.Birth, cause);
    }

    public void Dispose() => _context.Dispose();
}
