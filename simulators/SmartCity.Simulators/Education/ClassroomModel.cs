using System.Text.Json;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Education;

/// <summary>
/// Classroom environment sensor (contract: classroom_env telemetry v1). Occupancy follows the
/// school timetable and calendar; the room is a well-mixed box: CO2 rises with the people in it
/// and decays towards outdoor air with the ventilation rate (first-order model, solved exactly
/// over one-minute steps); temperature and humidity follow heating and occupants with their own
/// time constants.
/// </summary>
public sealed class ClassroomModel : DeviceModel
{
    /// <summary>Outdoor CO2, ppm.</summary>
    public const double OutdoorCo2 = 420;

    /// <summary>CO2 exhaled per pupil at rest, litres per second (10-12 year olds, sedentary).</summary>
    public const double Co2PerPersonLitresPerSecond = 0.0045;

    private static readonly TimeSpan Step = TimeSpan.FromMinutes(1);
    private readonly float[] _co2;
    private readonly float[] _temperature;
    private readonly float[] _humidity;
    private readonly long[] _lastTime;
    private readonly float[,] _stuck;
    private readonly bool[] _stuckLatched;

    public ClassroomModel(GeneratorContext context)
        : base(DeviceType.ClassroomEnv, context)
    {
        _co2 = new float[Count];
        _temperature = new float[Count];
        _humidity = new float[Count];
        _lastTime = new long[Count];
        _stuck = new float[Count > 0 ? Count : 0, 3];
        _stuckLatched = new bool[Count];
    }

    public override string Firmware => "3.1.0";

    /// <summary>People in the room at <paramref name="t"/>: a class during lessons it is used for, nobody otherwise.</summary>
    public int Occupancy(int room, int key, DateTimeOffset t)
    {
        var s = Scenario.Schools;
        var local = TimeZoneInfo.ConvertTime(t, Scenario.TimeZone);
        var date = DateOnly.FromDateTime(local.DateTime);
        if (!s.IsSchoolDay(date))
        {
            return 0;
        }

        var time = TimeOnly.FromDateTime(local.DateTime);
        for (var p = 0; p < s.Lessons.Count; p++)
        {
            if (!s.Lessons[p].Contains(time))
            {
                continue;
            }

            var r = new DeterministicRandom(Seed, key, date.DayNumber, p);
            if (!r.Chance(s.Occupancy))
            {
                return 0;
            }

            var classSize = new DeterministicRandom(Seed, key, 0xC1A5).NextInt(s.ClassSizeMin, s.ClassSizeMax + 1);
            return Math.Max(0, classSize - r.NextInt(0, 4) + 1); // pupils present, plus the teacher
        }

        return 0;
    }

    public bool Ventilating(DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, Scenario.TimeZone);
        return Scenario.Schools.IsSchoolDay(DateOnly.FromDateTime(local.DateTime))
            && Scenario.Schools.VentilationHours.Contains(TimeOnly.FromDateTime(local.DateTime));
    }

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var room = device.Index;
        var key = device.Key;
        if (_lastTime[room] == 0)
        {
            var init = new DeterministicRandom(Seed, key, 0x1A17);
            _co2[room] = (float)(OutdoorCo2 + (40 * init.NextDouble()));
            _temperature[room] = (float)(Setpoint(t) - 0.5 + init.NextDouble());
            _humidity[room] = (float)(38 + (6 * init.NextDouble()));
            _lastTime[room] = t.UtcTicks;
        }

        Integrate(room, key, new DateTimeOffset(_lastTime[room], TimeSpan.Zero), t);
        _lastTime[room] = t.UtcTicks;

        var people = Occupancy(room, key, t);
        var r = new DeterministicRandom(Seed, key, n, 3);
        double co2 = Math.Round(Math.Clamp(_co2[room] + (8 * r.NextGaussian()), 300, 10_000));
        double temperature = Math.Round(_temperature[room] + (0.05 * r.NextGaussian()), 1);
        double humidity = Math.Round(Math.Clamp(_humidity[room] + (0.5 * r.NextGaussian()), 0, 100), 1);
        var noise = Math.Round(people > 0 ? 52 + (10 * r.NextDouble()) + (people * 0.1) : 30 + (4 * r.NextDouble()), 1);
        var pm25 = Math.Round(4 + (4 * r.NextDouble()) + (people * 0.15), 1);

        FaultKind? fault = null;
        if (Faults.Active(key, FaultKind.StuckSensor, t) is not null)
        {
            // A stuck sensor repeats the readings it had when it got stuck.
            if (!_stuckLatched[room])
            {
                _stuck[room, 0] = (float)co2;
                _stuck[room, 1] = (float)temperature;
                _stuck[room, 2] = (float)humidity;
                _stuckLatched[room] = true;
            }

            co2 = _stuck[room, 0];
            temperature = Math.Round(_stuck[room, 1], 1);
            humidity = Math.Round(_stuck[room, 2], 1);
            fault = FaultKind.StuckSensor;
        }
        else
        {
            _stuckLatched[room] = false;
        }

        if (Faults.Active(key, FaultKind.Co2Spike, t) is { } spike)
        {
            co2 = Math.Round(Math.Clamp(spike.Ppm + (60 * r.NextGaussian()), 0, 10_000));
            fault = FaultKind.Co2Spike;
        }

        var json = device.Begin(t);
        json.WriteNumber("co2_ppm", co2);
        json.WriteNumber("temperature_c", temperature);
        json.WriteNumber("humidity_pct", humidity);
        json.WriteNumber("occupancy", people);
        json.WriteNumber("noise_dba", noise);
        json.WriteNumber("pm25_ugm3", pm25);
        device.End(MessageKind.Telemetry, t, fault);
    }

    public override void OnOffline(DeviceCursor device, DateTimeOffset t)
    {
        // The room goes on living while its sensor is away: keep integrating so it returns with true values.
        if (_lastTime[device.Index] != 0)
        {
            Integrate(device.Index, device.Key, new DateTimeOffset(_lastTime[device.Index], TimeSpan.Zero), t);
            _lastTime[device.Index] = t.UtcTicks;
        }
    }

    private void Integrate(int room, int key, DateTimeOffset from, DateTimeOffset to)
    {
        var s = Scenario.Schools;
        double co2 = _co2[room];
        double temperature = _temperature[room];
        double humidity = _humidity[room];
        for (var a = from; a < to; a += Step)
        {
            var b = a + Step < to ? a + Step : to;
            var h = (b - a).TotalSeconds;
            var mid = a + ((b - a) / 2);
            var people = Occupancy(room, key, mid);
            var airChanges = Ventilating(mid) ? s.AirChangesPerHour : s.AirChangesPerHourOff;
            var lambda = airChanges / 3600;
            // dC/dt = people * G / V - lambda (C - outdoor): exact over a step with constant inputs.
            var source = people * Co2PerPersonLitresPerSecond * 1000 / s.RoomVolumeM3;
            var equilibrium = OutdoorCo2 + (source / lambda);
            co2 = equilibrium + ((co2 - equilibrium) * Math.Exp(-lambda * h));

            var targetTemperature = Setpoint(mid) + (0.06 * people);
            temperature = targetTemperature + ((temperature - targetTemperature) * Math.Exp(-h / 5400));
            var targetHumidity = 38 + (0.35 * people);
            humidity = targetHumidity + ((humidity - targetHumidity) * Math.Exp(-h / 2400));
        }

        _co2[room] = (float)co2;
        _temperature[room] = (float)temperature;
        _humidity[room] = (float)humidity;
    }

    /// <summary>Heating setpoint: 21 C from an hour before ventilation starts on school days, 16.5 C otherwise.</summary>
    private double Setpoint(DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, Scenario.TimeZone);
        var hours = Scenario.Schools.VentilationHours;
        var heating = new LocalTimeRange(hours.From.AddHours(-1), hours.To);
        return Scenario.Schools.IsSchoolDay(DateOnly.FromDateTime(local.DateTime)) && heating.Contains(TimeOnly.FromDateTime(local.DateTime)) ? 21 : 16.5;
    }

    public override void WriteRequired(Utf8JsonWriter json)
    {
        json.WriteNumber("co2_ppm", 600);
        json.WriteNumber("temperature_c", 20.5);
    }

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        json.WriteNumber("co2_ppm", 99_999);
        json.WriteNumber("temperature_c", 20.5);
    }

    public override void WriteWrongType(Utf8JsonWriter json)
    {
        json.WriteString("co2_ppm", "high");
        json.WriteNumber("temperature_c", 20.5);
    }
}
