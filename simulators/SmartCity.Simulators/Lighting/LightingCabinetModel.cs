using System.Text.Json;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Lighting;

/// <summary>
/// Lighting cabinet (contract: lighting_cabinet telemetry and events v1): feeds the lamps of its
/// part of a district, switches its circuits with the same astronomical clock, meters their
/// total power. A mains loss cuts its lamps (they go offline) and is reported as events.
/// </summary>
public sealed class LightingCabinetModel : DeviceModel
{
    private readonly double[] _sumNominal;
    private readonly int[] _lampCount;
    private readonly double[] _energyKwh;
    private readonly float[] _lastPower;
    private readonly long[] _lastTime;

    public LightingCabinetModel(GeneratorContext context)
        : base(DeviceType.LightingCabinet, context)
    {
        _sumNominal = new double[Count];
        _lampCount = new int[Count];
        _energyKwh = new double[Count];
        _lastPower = new float[Count];
        _lastTime = new long[Count];
        var lamps = Scenario.Count(DeviceType.StreetLight);
        for (var lamp = 0; lamp < lamps && Count > 0; lamp++)
        {
            var cabinet = context.Layout.CabinetOf(lamp);
            if (cabinet >= 0)
            {
                _sumNominal[cabinet] += StreetLightModel.NominalWatts(Scenario, lamp);
                _lampCount[cabinet]++;
            }
        }
    }

    public override string Firmware => "1.8.0";

    /// <summary>Mains voltage at a cabinet (each a little different, as on a real grid); 230 V for lamps without one.</summary>
    public double Voltage(int cabinet)
    {
        if (cabinet < 0)
        {
            return 230;
        }

        var r = new DeterministicRandom(Seed, (long)DeviceType.LightingCabinet, cabinet, 0x7011);
        return 226 + (8 * r.NextDouble());
    }

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var c = device.Index;
        foreach (var f in Faults.For(device.Key))
        {
            if (f.Kind != FaultKind.CabinetMainsLoss)
            {
                continue;
            }

            var from = Context.Start + f.At;
            if (from > previous && from <= t)
            {
                Event(device, from, "mains_lost", FaultKind.CabinetMainsLoss);
            }

            if (f.Duration is not null && Context.Start + f.End > previous && Context.Start + f.End <= t)
            {
                Event(device, Context.Start + f.End, "mains_restored", FaultKind.CabinetMainsLoss);
            }
        }

        var mainsLost = Faults.Active(device.Key, FaultKind.CabinetMainsLoss, t) is not null;
        var on = !mainsLost && Context.Lighting.IsOn(t);
        var level = on ? Context.Lighting.Level(t) : 0;
        var r = new DeterministicRandom(Seed, device.Key, n, 2);
        var power = mainsLost ? 0 : _sumNominal[c] * level / 100;
        if (!mainsLost)
        {
            foreach (var f in Faults.LampFaultsOfCabinet(c))
            {
                if (!f.IsActive(t - Context.Start))
                {
                    continue;
                }

                var nominal = StreetLightModel.NominalWatts(Scenario, f.DeviceIndex);
                power += f.Kind switch
                {
                    FaultKind.LampFailure when on => -(nominal * level / 100) + 1.2,
                    FaultKind.DriverFailure when on => -(nominal * level / 100),
                    FaultKind.DayBurning when !on => nominal,
                    _ => 0,
                };
            }
        }

        power = Math.Round(Math.Max(0, power * (1 + (0.005 * r.NextGaussian()))), 1);
        if (_lastTime[c] == 0)
        {
            _energyKwh[c] = Math.Round(50_000 + (400_000 * new DeterministicRandom(Seed, device.Key, 0xE0).NextDouble()), 1);
        }
        else
        {
            _energyKwh[c] += (_lastPower[c] + power) / 2 * ((t.UtcTicks - _lastTime[c]) / (double)TimeSpan.TicksPerHour) / 1000;
        }

        _lastTime[c] = t.UtcTicks;
        _lastPower[c] = (float)power;
        var circuits = 2 + new DeterministicRandom(Seed, device.Key, 0xC1).NextInt(0, 7);

        var json = device.Begin(t);
        json.WriteBoolean("mains_present", !mainsLost);
        json.WriteBoolean("door_open", false);
        json.WriteNumber("power_w", power);
        json.WriteNumber("energy_kwh", Math.Round(_energyKwh[c], 3));
        json.WriteNumber("voltage_v", mainsLost ? 0 : Math.Round(Voltage(c) + (0.5 * r.NextGaussian()), 1));
        json.WriteNumber("circuits_on", on || (power > 0 && !mainsLost) ? circuits : 0);
        json.WriteNumber("circuits_total", circuits);
        json.WriteNumber("lamps", _lampCount[c]);
        device.End(MessageKind.Telemetry, t, mainsLost ? FaultKind.CabinetMainsLoss : null);
    }

    private static void Event(DeviceCursor device, DateTimeOffset at, string name, FaultKind fault)
    {
        var json = device.Begin(at);
        json.WriteString("event", name);
        device.End(MessageKind.Event, at, fault);
    }

    public override void WriteRequired(Utf8JsonWriter json)
    {
        json.WriteBoolean("mains_present", true);
        json.WriteBoolean("door_open", false);
    }

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        WriteRequired(json);
        json.WriteNumber("circuits_on", 99);
    }

    public override void WriteWrongType(Utf8JsonWriter json)
    {
        json.WriteString("mains_present", "yes");
        json.WriteBoolean("door_open", false);
    }
}
