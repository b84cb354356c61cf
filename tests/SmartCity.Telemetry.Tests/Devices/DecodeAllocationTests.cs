using System.Buffers;
using System.Text;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Ingest;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// The decode stage runs for every message. Flags are read without a string per code and
/// timestamps from the payload's bytes: results and rejections must stay exactly those of the
/// former string-based paths, and a street-light message must stay within its allocation budget.
/// </summary>
public class DecodeAllocationTests(ITestOutputHelper output)
{
    private const string Topic = "city/lighting/d01/d01-street-001/streetlight/lamp-000001/telemetry";
    private const string Known = "lamp_failure, driver_failure, over_voltage, under_voltage";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);

    private static readonly MessageDecoder Decoder = new(Options.Create(new DecodingOptions()), ProfileLoader.LoadAll(null), []);

    private static string Payload(string faults) =>
        "{\"v\":1,\"ts\":\"2026-11-28T21:59:30.250Z\",\"seq\":7,\"on\":true,\"dim_pct\":80,\"power_w\":48.5,\"energy_kwh\":1234.5,"
        + "\"voltage_v\":229.8,\"current_a\":0.22,\"power_factor\":0.95,\"burning_hours\":10234.5" + faults + "}";

    private static DecodeOutcome Decode(string payload) =>
        Decoder.Decode(Topic, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)), Now);

    [Theory]
    [InlineData("", "")]
    [InlineData(",\"faults\":null", "")]
    [InlineData(",\"faults\":[]", "")]
    [InlineData(",\"faults\":[\"lamp_failure\"]", "lamp_failure")]
    [InlineData(",\"faults\":[\"under_voltage\",\"lamp_failure\",\"under_voltage\"]", "lamp_failure,under_voltage")]
    [InlineData(",\"faults\":[\"driver\\u005ffailure\"]", "driver_failure")]
    public void Decode_Flags_OneBooleanPerKnownCode(string faults, string set)
    {
        var outcome = Decode(Payload(faults));

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        foreach (var code in Known.Split(", "))
        {
            Assert.Equal(FieldValue.Bool(set.Split(',').Contains(code)), outcome.Result.Point!.GetField("fault_" + code));
        }
    }

    [Theory]
    [InlineData(",\"faults\":[\"meltdown\"]", RejectReason.OutOfRange, "'faults' contains unknown code \"meltdown\" (known: " + Known + ")")]
    [InlineData(",\"faults\":[\"lamp_failure\",\"LAMP_FAILURE\"]", RejectReason.OutOfRange, "'faults' contains unknown code \"LAMP_FAILURE\" (known: " + Known + ")")]
    [InlineData(",\"faults\":\"lamp_failure\"", RejectReason.WrongType, "'faults' must be an array of strings, not a string")]
    [InlineData(",\"faults\":{}", RejectReason.WrongType, "'faults' must be an array of strings, not an object")]
    [InlineData(",\"faults\":[1]", RejectReason.WrongType, "'faults' items must be strings, not a number")]
    [InlineData(",\"faults\":[\"meltdown\",null]", RejectReason.WrongType, "'faults' items must be strings, not null")]
    [InlineData(",\"faults\":[\"a\",\"b\",\"c\",\"d\",\"e\"]", RejectReason.OutOfRange, "'faults' has more than 4 items")]
    public void Decode_BadFlags_SameRejectionsAsBefore(string faults, RejectReason reason, string detail)
    {
        var outcome = Decode(Payload(faults));

        Assert.Equal(DecodeStatus.Rejected, outcome.Status);
        Assert.Equal(reason, outcome.Result.Reason);
        Assert.Equal(detail, outcome.Result.Detail);
    }

    [Theory]
    [InlineData("2026-11-28T21:59:30.250z", "2026-11-28T21:59:30.250+00:00")]
    [InlineData("2026-11-28T22:59:30.250+01:00", "2026-11-28T21:59:30.250+00:00")]
    [InlineData("2026-11-28T21:59:30.250\u005a", "2026-11-28T21:59:30.250+00:00")]
    [InlineData("2026-11-28T21:59:30.2500000000000000Z", "2026-11-28T21:59:30.250+00:00")]
    public void Decode_Rfc3339Timestamp_EscapedOrNot_SameInstant(string ts, string expected)
    {
        var outcome = Decode(Payload("").Replace("2026-11-28T21:59:30.250Z", ts));

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), outcome.Result.Point!.Timestamp);
    }

    [Theory]
    [InlineData("2026-11-28T21:59:30.2500000000000000000000Z", "2026-11-28T21:59:30.25000000000000000000...")]
    [InlineData("2026-11-28T21:59:30.250", "2026-11-28T21:59:30.250")]
    [InlineData("2026-11-28T21:59:30.250\u0020", "2026-11-28T21:59:30.250 ")]
    [InlineData("2026-11-28T21:59:30.250Zé", "2026-11-28T21:59:30.250Zé")]
    [InlineData("", "")]
    public void Decode_BadRfc3339Timestamp_SameRejectionAsBefore(string ts, string shown)
    {
        var outcome = Decode(Payload("").Replace("2026-11-28T21:59:30.250Z", ts));

        Assert.Equal(RejectReason.InvalidTimestamp, outcome.Result.Reason);
        Assert.Equal($"'ts' must be RFC 3339 with an offset (2026-11-28T20:15:00Z), was \"{shown}\"", outcome.Result.Detail);
    }

    [Fact]
    public void Decode_StreetLightTelemetry_WithinAllocationBudget()
    {
        var payload = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Payload(",\"faults\":[]")));
        Assert.Equal(DecodeStatus.Accepted, Decoder.Decode(Topic, payload, Now).Status);
        for (var i = 0; i < 200; i++)
        {
            Decoder.Decode(Topic, payload, Now);
        }

        const int Calls = 2_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++)
        {
            Decoder.Decode(Topic, payload, Now);
        }

        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Calls;
        output.WriteLine($"Decode allocated {perCall:F0} B per street-light message");

        // Before the allocation work this message cost about 2,300 B (a SortedList and a growing
        // field list per point, a string per flag name and per fault code, a string per topic segment).
        Assert.True(perCall <= 1_400, $"Decode allocated {perCall:F0} B per message");
    }
}
