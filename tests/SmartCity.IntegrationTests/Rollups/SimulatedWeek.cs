using System.Globalization;

namespace SmartCity.IntegrationTests.Rollups;

/// <summary>
/// A week of lamp and classroom telemetry in the city's time (Amsterdam, 25-31 March 2026, with the
/// 23-hour day of 29 March), as (device time, topic, payload). Six lamps in two districts every 20
/// minutes, metering energy from their power; three classrooms every 15 minutes, two counting people
/// and one with presence only; one lamp reports a lamp failure for two hours on 27 March.
/// </summary>
internal sealed class SimulatedWeek(string topicRoot)
{
    public static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam");

    /// <summary>Local midnight starting 25 March, and the end of 31 March, in UTC.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 24, 23, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset End = new(2026, 3, 31, 22, 0, 0, TimeSpan.Zero);

    public static readonly string[] Lamps = ["lamp-01", "lamp-02", "lamp-03", "lamp-04", "lamp-05", "lamp-06"];

    public static readonly string[] Rooms = ["room-1", "room-2", "room-3"];

    public static string DistrictOf(string lamp) => string.CompareOrdinal(lamp, "lamp-04") < 0 ? "dnorth" : "dsouth";

    /// <summary>Each device announces itself (a birth message) before its first reading.</summary>
    public IEnumerable<(string Topic, string Payload)> Births() =>
        Lamps.Select(l => (LampTopic(l) + "/status", Devices.DeviceTestKit.Birth("streetlight", Start, null, null)))
            .Concat(Rooms.Select(r => (RoomTopic(r) + "/status", Devices.DeviceTestKit.Birth("classroom_env", Start, null, null))));

    private string LampTopic(string lamp) => $"{topicRoot}/lighting/{DistrictOf(lamp)}/{DistrictOf(lamp)}-street-1/streetlight/{lamp}";

    private string RoomTopic(string room) => $"{topicRoot}/education/dnorth/dnorth-school-1/classroom_env/{room}";

    public IEnumerable<(DateTimeOffset Ts, string Topic, string Payload)> Messages(DateTimeOffset from, DateTimeOffset to) =>
        LampMessages(from, to).Concat(RoomMessages(from, to)).OrderBy(m => m.Item1);

    private IEnumerable<(DateTimeOffset, string, string)> LampMessages(DateTimeOffset from, DateTimeOffset to)
    {
        foreach (var (lamp, n) in Lamps.Select((l, i) => (l, i)))
        {
            var energy = 1_000.0 + (100 * n);
            for (var ts = Start; ts < to; ts = ts.AddMinutes(20))
            {
                var local = TimeZoneInfo.ConvertTime(ts, Zone);
                var night = local.Hour is >= 19 or < 7;
                var power = night ? 40.0 + (n * 3) + (local.Minute / 20) : 0.0;
                // The meter counts what the lamp drew since the last report (a third of an hour).
                energy = Math.Round(energy + (power / 3 / 1_000), 6);
                if (ts < from)
                {
                    continue;
                }

                var failing = lamp == "lamp-02" && ts >= new DateTimeOffset(2026, 3, 27, 1, 0, 0, TimeSpan.Zero) && ts < new DateTimeOffset(2026, 3, 27, 3, 0, 0, TimeSpan.Zero);
                var payload = string.Format(CultureInfo.InvariantCulture,
                    "{{\"v\":1,\"ts\":\"{0:yyyy-MM-ddTHH:mm:ssZ}\",\"on\":{1},\"dim_pct\":{2},\"power_w\":{3},\"energy_kwh\":{4},\"faults\":[{5}]}}",
                    ts.UtcDateTime, night ? "true" : "false", night ? 80 : 0, power, energy, failing ? "\"lamp_failure\"" : "");
                yield return (ts, LampTopic(lamp) + "/telemetry", payload);
            }
        }
    }

    private IEnumerable<(DateTimeOffset, string, string)> RoomMessages(DateTimeOffset from, DateTimeOffset to)
    {
        foreach (var (room, n) in Rooms.Select((r, i) => (r, i)))
        {
            var i = 0;
            for (var ts = Start; ts < to; ts = ts.AddMinutes(15), i++)
            {
                if (ts < from)
                {
                    continue;
                }

                var local = TimeZoneInfo.ConvertTime(ts, Zone);
                var lesson = local.Hour is >= 8 and < 16;
                var co2 = 420 + ((i * 37 + n * 101) % 900) + (lesson ? 300 : 0) + 0.5;
                var people = room == "room-3" ? "\"presence\":" + (lesson ? "true" : "false") : "\"occupancy\":" + (lesson ? 10 + ((i * 7) % 20) : 0).ToString(CultureInfo.InvariantCulture);
                var payload = string.Format(CultureInfo.InvariantCulture,
                    "{{\"v\":1,\"ts\":\"{0:yyyy-MM-ddTHH:mm:ssZ}\",\"co2_ppm\":{1},\"temperature_c\":21.5,{2}}}", ts.UtcDateTime, co2, people);
                yield return (ts, RoomTopic(room) + "/telemetry", payload);
            }
        }
    }
}
