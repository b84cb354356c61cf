using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Scenarios;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Simulators.Tests.Scenarios;

/// <summary>Each fault kind, as the scenario files schedule it, is visible in the generated stream.</summary>
public class FaultVisibilityTests
{
    private static readonly DateTimeOffset Start = Streams.SchoolDay;
    private static readonly Lazy<List<ScenarioMessage>> Lighting = new(() => Streams.Generate(Streams.Load("lighting-faults"), Start));
    private static readonly Lazy<List<ScenarioMessage>> Education = new(() => Streams.Generate(Streams.Load("education-faults"), Start));
    private static readonly Lazy<List<ScenarioMessage>> Security = new(() => Streams.Generate(Streams.Load("security-faults"), Start));

    private static DateTimeOffset At(string hhmm) => Start + TimeSpan.Parse(hhmm, System.Globalization.CultureInfo.InvariantCulture);

    private static bool Within(ScenarioMessage m, string from, string to) => m.SimTime >= At(from) && m.SimTime < At(to);

    private static string[] FaultCodes(ScenarioMessage m) => m.Json().GetProperty("faults").EnumerateArray().Select(f => f.GetString()!).ToArray();

    [Fact]
    public void LampFailure_FlagAndIdlePowerDuringTheFaultOnly()
    {
        var lamp = Lighting.Value.Of("lamp-000003", "telemetry").ToList();

        var during = lamp.Where(m => Within(m, "01:00", "03:00")).ToList();
        Assert.True(during.Count >= 20);
        Assert.All(during, m => Assert.Contains("lamp_failure", FaultCodes(m)));
        Assert.All(during, m => Assert.InRange(m.Json().GetProperty("power_w").GetDouble(), 0.5, 2));
        Assert.All(lamp.Where(m => !Within(m, "01:00", "03:00")), m => Assert.Empty(FaultCodes(m)));
    }

    [Fact]
    public void DriverFailure_SwitchedOnButNoPower()
    {
        var during = Lighting.Value.Of("lamp-000004", "telemetry").Where(m => Within(m, "01:30", "03:30")).ToList();

        Assert.NotEmpty(during);
        Assert.All(during, m =>
        {
            Assert.True(m.Json().GetProperty("on").GetBoolean());
            Assert.Equal(0, m.Json().GetProperty("power_w").GetDouble());
            Assert.Contains("driver_failure", FaultCodes(m));
        });
    }

    [Fact]
    public void DayBurning_OnAtFullPowerWhileTheSunIsUp()
    {
        var burning = Lighting.Value.Of("lamp-000005", "telemetry").Where(m => Within(m, "11:00", "13:00")).ToList();
        var neighbour = Lighting.Value.Of("lamp-000001", "telemetry").Where(m => Within(m, "11:00", "13:00")).ToList();

        Assert.All(burning, m => Assert.True(m.Json().GetProperty("on").GetBoolean() && m.Json().GetProperty("power_w").GetDouble() > 20));
        Assert.All(burning, m => Assert.True(SmartCity.Common.SolarClock.IsSunUp(m.Timestamp, 52.0907, 5.1214)));
        Assert.All(neighbour, m => Assert.False(m.Json().GetProperty("on").GetBoolean()));
        Assert.Equal(FaultKind.DayBurning, burning[0].Fault);
    }

    [Fact]
    public void CabinetMainsLoss_EventsNoMainsAndItsLampsOfflineUntilRestored()
    {
        var stream = Lighting.Value;
        var events = stream.Of("cab-000002", "event").Select(m => (m.Timestamp, Event: m.Json().GetProperty("event").GetString())).ToList();
        Assert.Equal([(At("02:00"), "mains_lost"), (At("02:30"), "mains_restored")], events);
        Assert.All(stream.Of("cab-000002", "telemetry").Where(m => Within(m, "02:00", "02:30")), m =>
        {
            Assert.False(m.Json().GetProperty("mains_present").GetBoolean());
            Assert.Equal(0, m.Json().GetProperty("power_w").GetDouble());
        });

        // cab-000002 feeds the lamps of district d02 (odd lamp numbers 2, 4, ... are d02): all of them go dark and silent.
        var fed = stream.Where(m => m.DeviceType == DeviceType.StreetLight && m.Topic.Contains("/d02/", StringComparison.Ordinal)).GroupBy(m => m.DeviceId).ToList();
        Assert.Equal(20, fed.Count);
        foreach (var lamp in fed)
        {
            var status = lamp.Where(m => m.Kind() == "status" && m.SimTime > Start).ToList();
            Assert.Equal(2, status.Count);
            Assert.Equal("""{"v":1,"online":false}""", System.Text.Encoding.UTF8.GetString(status[0].Payload));
            Assert.Equal(ConnectionAction.Will, status[0].Action);
            Assert.True(status[1].Json().GetProperty("online").GetBoolean());
            Assert.Equal(At("02:30"), status[1].Timestamp);
            Assert.DoesNotContain(lamp, m => m.Kind() == "telemetry" && m.Timestamp >= At("02:00") && m.Timestamp < At("02:30"));
        }
    }

    [Fact]
    public void MalformedBurst_EachPayloadRejectedByTheWorkerForItsReason()
    {
        var bad = Lighting.Value.Where(m => m.Fault == FaultKind.MalformedBurst).ToList();

        Assert.Equal(18, bad.Count);
        Assert.All(bad, m => Assert.Equal("lamp-000006", m.DeviceId));
        for (var k = 0; k < bad.Count; k++)
        {
            var outcome = Streams.DecodeAsWorker(bad[k]);
            Assert.Equal(DecodeStatus.Rejected, outcome.Status);
            Assert.Equal(MalformedPayloads.Variants[k % MalformedPayloads.Variants.Count].Reason, outcome.Result.Reason.ToString());
        }
    }

    [Fact]
    public void EveryOtherStreetLightMessage_AcceptedByTheWorkerDecoder()
    {
        var good = Lighting.Value.Where(m => m.DeviceType == DeviceType.StreetLight && m.Kind() == "telemetry" && m.Fault is not FaultKind.MalformedBurst and not FaultKind.ClockSkew).ToList();

        Assert.True(good.Count > 10_000);
        Assert.All(good, m => Assert.True(Streams.DecodeAsWorker(m).Status == DecodeStatus.Accepted, System.Text.Encoding.UTF8.GetString(m.Payload)));
    }

    [Fact]
    public void ClockSkew_TimestampsAheadByTheSkewAndRejectedAsFuture()
    {
        var lamp = Lighting.Value.Of("lamp-000007", "telemetry").ToList();
        var skewed = lamp.Where(m => Within(m, "13:00", "14:00")).ToList();

        Assert.NotEmpty(skewed);
        Assert.All(skewed, m => Assert.Equal(TimeSpan.FromMinutes(10), m.Timestamp - m.SimTime));
        Assert.All(skewed, m => Assert.Equal(RejectReason.InvalidTimestamp, Streams.DecodeAsWorker(m).Result.Reason));
        // Outside the fault the clock is right: a reading is stamped at its tick, a switch report a little before.
        Assert.All(lamp.Except(skewed), m => Assert.InRange(m.SimTime - m.Timestamp, TimeSpan.Zero, TimeSpan.FromMinutes(5)));
        // Also visible without a clock to compare with: the device's time jumps ahead, then back.
        var jump = lamp.Zip(lamp.Skip(1)).Select(p => p.Second.Timestamp - p.First.Timestamp).ToList();
        Assert.Contains(TimeSpan.FromMinutes(15), jump);
        Assert.Contains(jump, d => d < TimeSpan.Zero);
    }

    [Fact]
    public void StuckSensor_SameReadingsForTheWholeFault()
    {
        var during = Education.Value.Of("cls-000001", "telemetry").Where(m => Within(m, "09:00", "11:00")).Select(m => m.Json()).ToList();
        var before = Education.Value.Of("cls-000001", "telemetry").Where(m => Within(m, "07:00", "09:00")).Select(m => m.Json().GetProperty("co2_ppm").GetDouble()).ToList();

        Assert.True(during.Count >= 20);
        Assert.Single(during.Select(j => (j.GetProperty("co2_ppm").GetDouble(), j.GetProperty("temperature_c").GetDouble(), j.GetProperty("humidity_pct").GetDouble())).Distinct());
        Assert.True(before.Distinct().Count() > 5, "a healthy sensor's readings vary");
    }

    [Fact]
    public void SensorOffline_WillThenSilenceThenBirth()
    {
        AssertOffline(Education.Value, "cls-000002", "10:00", "11:00", FaultKind.SensorOffline);
        AssertOffline(Security.Value, "pir-000004", "20:00", "21:00", FaultKind.SensorOffline);
    }

    [Fact]
    public void CameraOffline_WillThenSilenceThenBirth() => AssertOffline(Security.Value, "cam-000001", "15:00", "15:40", FaultKind.CameraOffline);

    private static void AssertOffline(List<ScenarioMessage> stream, string device, string from, string to, FaultKind kind)
    {
        var status = stream.Of(device, "status").Where(m => m.SimTime > Start).ToList();
        Assert.Equal(2, status.Count);
        Assert.Equal(ConnectionAction.Will, status[0].Action);
        Assert.False(status[0].Json().GetProperty("online").GetBoolean());
        Assert.InRange(status[0].SimTime - At(from), TimeSpan.Zero, TimeSpan.FromMinutes(5));
        Assert.Equal(ConnectionAction.Birth, status[1].Action);
        Assert.Equal(At(to), status[1].Timestamp);
        Assert.All(status, m => Assert.Equal(kind, m.Fault));
        Assert.DoesNotContain(stream, m => m.DeviceId == device && m.Kind() != "status" && m.Timestamp >= At(from) && m.Timestamp < At(to));
        Assert.Contains(stream, m => m.DeviceId == device && m.Kind() == "telemetry" && m.Timestamp >= At(to));
    }

    [Fact]
    public void Co2Spike_HighCo2ForTheFaultOnly()
    {
        var readings = Education.Value.Of("cls-000003", "telemetry").Select(m => (m.SimTime, Co2: m.Json().GetProperty("co2_ppm").GetDouble())).ToList();

        Assert.All(readings.Where(r => r.SimTime >= At("13:00") && r.SimTime < At("13:30")), r => Assert.InRange(r.Co2, 4700, 5300));
        Assert.All(readings.Where(r => r.SimTime < At("13:00") || r.SimTime >= At("13:30")), r => Assert.True(r.Co2 < 2000));
    }

    [Fact]
    public void DoorForced_ForcedEventAndAnAlarmOnTheArmedPanel()
    {
        var stream = Security.Value;
        var door = stream.Of("door-000002", "event").Select(m => (m.Timestamp, Event: m.Json().GetProperty("event").GetString())).ToList();
        var panel = stream.Of("panel-000002", "event").Select(m => (m.Timestamp, Event: m.Json().GetProperty("event").GetString())).ToList();

        Assert.Contains((At("02:30"), "forced"), door);
        Assert.Contains((At("02:32"), "closed"), door);
        Assert.Contains((At("02:30:02"), "alarm"), panel);
        Assert.Contains((At("02:40"), "alarm_cleared"), panel);
        Assert.Contains(stream.Of("panel-000002", "telemetry"), m => m.Json().GetProperty("state").GetString() == "alarm");
        // The panel of the other building knows nothing of it.
        Assert.DoesNotContain(stream.Of("panel-000001", "event"), m => m.Json().GetProperty("event").GetString() == "alarm");
        // Armed at night, disarmed for opening hours (a Wednesday: 08:00-18:00, disarmed 07:30, armed 18:15).
        Assert.Contains((At("07:30"), "disarmed"), panel);
        Assert.Contains((At("18:15"), "armed"), panel);
    }

    [Fact]
    public void SecurityMalformedBurst_NoneIsAValidDoorPayload()
    {
        var bad = Security.Value.Where(m => m.Fault == FaultKind.MalformedBurst).ToList();

        Assert.Equal(9, bad.Count);
        Assert.All(bad, m => Assert.NotNull(ContractCheck.Violation(m)));
    }
}
