using System.Text.Json;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Lighting;

/// <summary>
/// Street-light controller (contract: streetlight telemetry v1). On from sunset to sunrise, each
/// lamp a few seconds apart; dimmed by the scenario's profile; power from nominal wattage and
/// dim level with metering noise; energy and burning-hour counters integrated between messages.
/// Besides its periodic telemetry, a controller reports at once when it switches.
/// </summary>
public sealed class StreetLightModel : DeviceModel
{
    private const double DriverIdleWatts = 1.2;
    private readonly LightingCabinetModel _cabinets;
    private readonly double[] _energyKwh;
    private readonly float[] _burningHours;
    private readonly float[] _lastPower;
    private readonly long[] _lastTime;
    private readonly long[] _seq;
    private readonly bool[] _faultLatched;
    private readonly List<DateTimeOffset> _switches = [];

    public StreetLightModel(GeneratorContext context, LightingCabinetModel cabinets)
        : base(DeviceType.StreetLight, context)
    {
        _cabinets = cabinets;
        _energyKwh = new double[Count];
        _burningHours = new float[Count];
        _lastPower = new float[Count];
        _lastTime = new long[Count];
        _seq = new long[Count];
        _faultLatched = new bool[Count];
    }

    public static double NominalWatts(Scenario scenario, int lamp)
    {
        var r = new DeterministicRandom(scenario.Seed, (long)DeviceType.StreetLight, lamp, 0x3A77);
        return scenario.Lighting.Wattages[r.NextInt(0, scenario.Lighting.Wattages.Count)];
    }

    /// <summary>This lamp's offsets from sunset (switch on) and sunrise (switch off): photocells and clocks are never exactly alike.</summary>
    public (TimeSpan On, TimeSpan Off) SwitchShift(int lamp)
    {
        var jitter = Scenario.Lighting.SwitchJitter.TotalMilliseconds;
        var r = new DeterministicRandom(Seed, (long)DeviceType.StreetLight, lamp, 0x5317);
        return (TimeSpan.FromMilliseconds(Math.Round((r.NextDouble() * 2 - 1) * jitter)), TimeSpan.FromMilliseconds(Math.Round((r.NextDouble() * 2 - 1) * jitter)));
    }

    /// <summary>Whether the lamp is switched on at <paramref name="t"/> (schedule, or burning by day under a day-burning fault).</summary>
    public bool IsOn(int lamp, int key, DateTimeOffset t)
    {
        if (Faults.Active(key, FaultKind.DayBurning, t) is not null)
        {
            return true;
        }

        var (on, off) = SwitchShift(lamp);
        return Context.Lighting.IsOn(t, on, off);
    }

    public double Level(int lamp, int key, DateTimeOffset t)
    {
        if (Faults.Active(key, FaultKind.DayBurning, t) is not null)
        {
            // A lamp burning by day is at its dusk level: nothing dims it.
            return Context.Lighting.IsOn(t) ? Context.Lighting.Level(t) : Context.Lighting.DuskLevel;
        }

        var (on, off) = SwitchShift(lamp);
        return Context.Lighting.Level(t, on, off);
    }

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var lamp = device.Index;
        var (on, off) = SwitchShift(lamp);
        _switches.Clear();
        Context.Lighting.SwitchesBetween(previous, t, on, off, _switches);
        foreach (var f in Faults.For(device.Key))
        {
            if (f.Kind == FaultKind.DayBurning)
            {
                AddIfWithin(Context.Start + f.At, previous, t);
                if (f.Duration is not null)
                {
                    AddIfWithin(Context.Start + f.End, previous, t);
                }
            }
        }

        _switches.Sort();
        foreach (var s in _switches)
        {
            // Device clocks tick in ms: the first ms at which the lamp has switched. A switch exactly at
            // the tick is reported by the tick's own message.
            var at = DateTimeOffset.FromUnixTimeMilliseconds((s.UtcTicks + TimeSpan.TicksPerMillisecond - 1 - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMillisecond);
            if (at < t && at > previous && IsOn(lamp, device.Key, at) != IsOn(lamp, device.Key, at.AddMilliseconds(-1)))
            {
                Report(device, at);
            }
        }

        Report(device, t);
    }

    private void AddIfWithin(DateTimeOffset at, DateTimeOffset previous, DateTimeOffset t)
    {
        if (at > previous && at <= t)
        {
            _switches.Add(at);
        }
    }

    public override void OnOffline(DeviceCursor device, DateTimeOffset t)
    {
        // Without mains the controller counts nothing; it resumes from where it stopped.
        _lastPower[device.Index] = 0;
        if (_lastTime[device.Index] != 0)
        {
            _lastTime[device.Index] = t.UtcTicks;
        }
    }

    private void Report(DeviceCursor device, DateTimeOffset t)
    {
        var lamp = device.Index;
        var key = device.Key;
        var on = IsOn(lamp, key, t);
        var level = on ? Level(lamp, key, t) : 0;
        var lampFailure = Faults.Active(key, FaultKind.LampFailure, t);
        var driverFailure = Faults.Active(key, FaultKind.DriverFailure, t);
        // A controller only finds a dead lamp or driver when it tries to light it, then keeps the fault until repaired.
        if (lampFailure is null && driverFailure is null)
        {
            _faultLatched[lamp] = false;
        }
        else if (on)
        {
            _faultLatched[lamp] = true;
        }

        var seq = _seq[lamp]++;
        var r = new DeterministicRandom(Seed, key, seq, 1);
        var nominal = NominalWatts(Scenario, lamp);
        var voltage = Math.Round(_cabinets.Voltage(CabinetOf(lamp)) + (0.6 * r.NextGaussian()), 1);
        double power;
        double powerFactor;
        if (!on || driverFailure is not null)
        {
            power = 0;
            powerFactor = 0;
        }
        else if (lampFailure is not null)
        {
            power = DriverIdleWatts + (0.05 * r.NextGaussian());
            powerFactor = 0.35;
        }
        else
        {
            // LED driver: power proportional to the dim level, 1% metering noise plus a fixed 0.15 W.
            power = (nominal * level / 100 * (1 + (0.01 * r.NextGaussian()))) + (0.15 * r.NextGaussian());
            powerFactor = Math.Min(0.99, 0.92 + (0.05 * level / 100) + (0.005 * r.NextGaussian()));
        }

        power = Math.Round(Math.Max(0, power), 2);

        if (_lastTime[lamp] == 0)
        {
            var init = new DeterministicRandom(Seed, key, 0x1E17);
            _energyKwh[lamp] = Math.Round(2_000 + (20_000 * init.NextDouble()), 1);
            _burningHours[lamp] = (float)Math.Round(5_000 + (40_000 * init.NextDouble()));
        }
        else
        {
            var hours = (t.UtcTicks - _lastTime[lamp]) / (double)TimeSpan.TicksPerHour;
            _energyKwh[lamp] += (_lastPower[lamp] + power) / 2 * hours / 1000;
            if (_lastPower[lamp] > DriverIdleWatts * 2)
            {
                _burningHours[lamp] += (float)hours;
            }
        }

        _lastTime[lamp] = t.UtcTicks;
        _lastPower[lamp] = (float)power;

        var json = device.Begin(t);
        json.WriteNumber("seq", seq);
        json.WriteBoolean("on", on);
        json.WriteNumber("dim_pct", level);
        json.WriteNumber("power_w", power);
        json.WriteNumber("energy_kwh", Math.Round(_energyKwh[lamp], 4));
        json.WriteNumber("voltage_v", voltage);
        json.WriteNumber("current_a", power > 0 ? Math.Round(power / (voltage * Math.Max(powerFactor, 0.1)), 3) : 0);
        json.WriteNumber("power_factor", Math.Round(Math.Clamp(powerFactor, 0, 1), 3));
        json.WriteNumber("burning_hours", Math.Round(_burningHours[lamp], 2));
        json.WriteStartArray("faults");
        FaultKind? fault = null;
        if (_faultLatched[lamp] && lampFailure is not null)
        {
            json.WriteStringValue("lamp_failure");
            fault = FaultKind.LampFailure;
        }

        if (_faultLatched[lamp] && driverFailure is not null)
        {
            json.WriteStringValue("driver_failure");
            fault = FaultKind.DriverFailure;
        }

        json.WriteEndArray();
        if (Faults.Active(key, FaultKind.DayBurning, t) is not null && !Context.Lighting.IsOn(t))
        {
            fault = FaultKind.DayBurning;
        }

        device.End(MessageKind.Telemetry, t, fault);
    }

    private int CabinetOf(int lamp) => Context.Layout.CabinetOf(lamp);

    public override void WriteRequired(Utf8JsonWriter json)
    {
        json.WriteBoolean("on", true);
        json.WriteNumber("dim_pct", 100);
        json.WriteNumber("power_w", 40);
    }

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        json.WriteBoolean("on", true);
        json.WriteNumber("dim_pct", 150);
        json.WriteNumber("power_w", 40);
    }

    public override void WriteWrongType(Utf8JsonWriter json)
    {
        json.WriteString("on", "yes");
        json.WriteNumber("dim_pct", 100);
        json.WriteNumber("power_w", 40);
    }
}
