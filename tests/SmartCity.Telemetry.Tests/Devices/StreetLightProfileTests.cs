using System.Buffers;
using System.Text;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Tests.Devices;

public class StreetLightProfileTests
{
    private const string Topic = "city/lighting/d01/d01-street-001/streetlight/lamp-000001/telemetry";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);

    private static MessageDecoder CreateDecoder(DecodingOptions? options = null)
    {
        var o = Options.Create(options ?? new DecodingOptions());
        return new MessageDecoder(o, SmartCity.Telemetry.Devices.Profiles.ProfileLoader.LoadAll(null), []);
    }

    private static DecodeOutcome Decode(string payload, string topic = Topic, DecodingOptions? options = null) =>
        CreateDecoder(options).Decode(topic, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)), Now);

    private const string Valid = """
        {"v":1,"ts":"2026-11-28T21:59:30.250Z","seq":7,"on":true,"dim_pct":80,"power_w":48.5,"energy_kwh":1234.5,
         "voltage_v":229.8,"current_a":0.22,"power_factor":0.95,"burning_hours":10234.5,"faults":["lamp_failure"]}
        """;

    [Fact]
    public void Decode_FullPayload_MapsTagsFieldsAndDeviceTimestamp()
    {
        var outcome = Decode(Valid);

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        var p = outcome.Result.Point!;
        Assert.Equal("street_light", p.Measurement);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 21, 59, 30, 250, TimeSpan.Zero), p.Timestamp);
        Assert.Equal("lighting", p.GetTag("sector"));
        Assert.Equal("d01", p.GetTag("district"));
        Assert.Equal("d01-street-001", p.GetTag("site"));
        Assert.Equal("streetlight", p.GetTag("device_type"));
        Assert.Equal("lamp-000001", p.GetTag("device_id"));
        Assert.Equal(FieldValue.Bool(true), p.GetField("on"));
        Assert.Equal(FieldValue.Float(80), p.GetField("dim_pct"));
        Assert.Equal(FieldValue.Float(48.5), p.GetField("power_w"));
        Assert.Equal(FieldValue.Float(1234.5), p.GetField("energy_kwh"));
        Assert.Equal(FieldValue.Float(229.8), p.GetField("voltage_v"));
        Assert.Equal(FieldValue.Float(0.22), p.GetField("current_a"));
        Assert.Equal(FieldValue.Float(0.95), p.GetField("power_factor"));
        Assert.Equal(FieldValue.Float(10234.5), p.GetField("burning_hours"));
        Assert.Equal(FieldValue.Int(7), p.GetField("seq"));
        Assert.Equal(FieldValue.Bool(true), p.GetField("fault_lamp_failure"));
        Assert.Equal(FieldValue.Bool(false), p.GetField("fault_driver_failure"));
        Assert.Equal(
            "street_light,device_id=lamp-000001,device_type=streetlight,district=d01,sector=lighting,site=d01-street-001 "
            + "on=true,dim_pct=80,power_w=48.5,energy_kwh=1234.5,voltage_v=229.8,current_a=0.22,power_factor=0.95,burning_hours=10234.5,seq=7i,"
            + "fault_lamp_failure=true,fault_driver_failure=false,fault_over_voltage=false,fault_under_voltage=false 1795903170250000000",
            LineProtocol.Format(p));
    }

    [Theory]
    [InlineData("\"lamp-000001\"", DecodeStatus.Accepted, null)]
    [InlineData("\"lamp-000002\"", DecodeStatus.Rejected, "the payload says device 'lamp-000002', the topic says 'lamp-000001'")]
    [InlineData("\"LAMP-000001\"", DecodeStatus.Rejected, "the payload says device 'LAMP-000001', the topic says 'lamp-000001'")]
    [InlineData("42", DecodeStatus.Rejected, null)]
    public void Decode_PayloadNamesADevice_MustBeTheTopicsDevice(string device, DecodeStatus status, string? detail)
    {
        var outcome = Decode("""{"v":1,"ts":"2026-11-28T21:59:30.250Z","on":true,"dim_pct":100,"power_w":40,"device":""" + device + "}");

        Assert.Equal(status, outcome.Status);
        if (status == DecodeStatus.Rejected)
        {
            Assert.Equal(detail is null ? RejectReason.WrongType : RejectReason.IdentityMismatch, outcome.Result.Reason);
            Assert.Equal(detail ?? outcome.Result.Detail, outcome.Result.Detail);
        }
        else
        {
            Assert.Null(outcome.Result.Point!.GetField("device")); // the topic's id is stored, as a tag
        }
    }

    [Fact]
    public void Limits_TopicSegmentLengthAndStringLength_AreSettings_TightenedOnly()
    {
        const string payload = """{"v":1,"ts":"2026-11-28T21:59:30.250Z","on":true,"dim_pct":100,"power_w":40}""";
        Assert.Equal(DecodeStatus.Accepted, Decode(payload).Status); // site d01-street-001: 14 characters

        var tight = Decode(payload, options: new DecodingOptions { MaxTopicSegmentLength = 12 });
        Assert.Equal((DecodeStatus.Rejected, RejectReason.InvalidTopic), (tight.Status, tight.Result.Reason));
        Assert.Contains("1..12 characters", tight.Result.Detail, StringComparison.Ordinal);

        const string door = "city/security/d01/town-hall/door_contact/door-1/event";
        var detail = """{"v":1,"ts":"2026-11-28T21:59:30.250Z","event":"forced","detail":"contact broken open at the back door"}""";
        Assert.Equal(DecodeStatus.Accepted, Decode(detail, door).Status);
        var capped = Decode(detail, door, new DecodingOptions { MaxStringLength = 16 });
        Assert.Equal((DecodeStatus.Rejected, RejectReason.OutOfRange), (capped.Status, capped.Result.Reason));
        Assert.Equal("'detail' is longer than 16 characters", capped.Result.Detail);
    }

    [Fact]
    public void Decode_MinimalPayloadWithUnixMilliseconds_Accepted()
    {
        var outcome = Decode("""{"v":1,"ts":1795903170250,"on":false,"dim_pct":0,"power_w":0}""");

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795903170250), outcome.Result.Point!.Timestamp);
        Assert.Null(outcome.Result.Point.GetField("energy_kwh"));
    }

    [Fact]
    public void Decode_TimestampWithOffset_ConvertedToUtc()
    {
        var outcome = Decode("""{"v":1,"ts":"2026-11-28T22:59:30+01:00","on":false,"dim_pct":0,"power_w":0}""");
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 21, 59, 30, TimeSpan.Zero), outcome.Result.Point!.Timestamp);
    }

    [Theory]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,""", RejectReason.MalformedJson, "")]
    [InlineData("""not json at all""", RejectReason.MalformedJson, "")]
    [InlineData("""[1,2,3]""", RejectReason.MalformedJson, "JSON object")]
    [InlineData("""{"v":1,"ts":NaN,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.MalformedJson, "")]
    [InlineData("""{"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.MissingField, "'v'")]
    [InlineData("""{"v":2,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.UnsupportedVersion, "'v' 2")]
    [InlineData("""{"v":1,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.MissingField, "'ts'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","dim_pct":80,"power_w":1}""", RejectReason.MissingField, "'on'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80}""", RejectReason.MissingField, "'power_w'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":"high"}""", RejectReason.WrongType, "'power_w' must be a number, not a string")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":"yes","dim_pct":80,"power_w":1}""", RejectReason.WrongType, "'on' must be true or false")]
    [InlineData("""{"v":"1","ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.WrongType, "'v'")]
    [InlineData("""{"v":1.5,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.WrongType, "'v' must be an integer")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":150,"power_w":1}""", RejectReason.OutOfRange, "'dim_pct' must be between 0 and 100, was 150")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":-3}""", RejectReason.OutOfRange, "'power_w'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1e999}""", RejectReason.OutOfRange, "'power_w'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1,"seq":99999999999999999999999}""", RejectReason.OutOfRange, "'seq'")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1,"faults":["meltdown"]}""", RejectReason.OutOfRange, "unknown code \"meltdown\"")]
    [InlineData("""{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":80,"power_w":1,"faults":"lamp_failure"}""", RejectReason.WrongType, "'faults' must be an array")]
    [InlineData("""{"v":1,"ts":"2026-11-28 21:59:30","on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "RFC 3339")]
    [InlineData("""{"v":1,"ts":"yesterday","on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "RFC 3339")]
    // An unparseable ts is InvalidTimestamp whatever its JSON type (docs/device-contract.md, "Rejections").
    [InlineData("""{"v":1,"ts":true,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "'ts' must be Unix milliseconds (an integer) or an RFC 3339 string, not a boolean")]
    [InlineData("""{"v":1,"ts":1e400,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "not the number 1e400")]
    [InlineData("""{"v":1,"ts":123456789012345678901234567890,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "not the number 123456789012345678901234567890")]
    [InlineData("""{"v":1,"ts":1795903170250.5,"on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "'ts'")]
    [InlineData("""{"v":1,"ts":{"ms":1795903170250},"on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "not an object")]
    [InlineData("""{"v":1,"ts":"2026-11-28T22:10:00Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "ahead of the worker's clock")]
    [InlineData("""{"v":1,"ts":"2025-01-01T00:00:00Z","on":true,"dim_pct":80,"power_w":1}""", RejectReason.InvalidTimestamp, "older than")]
    public void Decode_BadPayload_RejectedWithReasonAndDetail(string payload, RejectReason reason, string detail)
    {
        var outcome = Decode(payload);

        Assert.Equal(DecodeStatus.Rejected, outcome.Status);
        Assert.Equal(reason, outcome.Result.Reason);
        Assert.Contains(detail, outcome.Result.Detail, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(outcome.Result.Detail));
    }

    [Fact]
    public void Decode_DeeplyNestedJson_RejectedAsMalformed()
    {
        var nested = new string('[', 10_000) + new string(']', 10_000);
        var outcome = Decode($$"""{"v":1,"x":{{nested}}}""");

        Assert.Equal(RejectReason.MalformedJson, outcome.Result.Reason);
        Assert.Contains("depth", outcome.Result.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Decode_PayloadOverLimit_RejectedBeforeParsing()
    {
        var outcome = Decode(new string(' ', 70_000) + Valid);

        Assert.Equal(RejectReason.PayloadTooLarge, outcome.Result.Reason);
        Assert.Contains("70", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_UnknownDeviceType_Rejected()
    {
        var outcome = Decode(Valid, "city/lighting/d01/s1/toaster/t1/telemetry");
        Assert.Equal(RejectReason.UnknownDeviceType, outcome.Result.Reason);
        Assert.Contains("toaster", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_KnownTypeWithoutDecoderForKind_RejectedAsUnsupportedKind()
    {
        // Street lights send events now (command acknowledgements); the LPWAN controller still sends none.
        var outcome = Decode(Valid, "city/lighting/d01/s1/streetlight_lpwan/l1/event");
        Assert.Equal(RejectReason.UnsupportedMessageKind, outcome.Result.Reason);
    }

    [Fact]
    public void Decode_StreetlightUnderWrongSector_Rejected()
    {
        var outcome = Decode(Valid, "city/security/d01/s1/streetlight/l1/telemetry");
        Assert.Equal(RejectReason.InvalidTopic, outcome.Result.Reason);
        Assert.Contains("belongs to sector 'lighting'", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_CommandTopic_IgnoredNotRejected()
    {
        var outcome = Decode("""{"cmd":"dim","level":50}""", "city/lighting/d01/s1/streetlight/l1/cmd");
        Assert.Equal(DecodeStatus.Ignored, outcome.Status);
    }

    [Fact]
    public void Decode_BadTopic_RejectedAsInvalidTopic()
    {
        var outcome = Decode(Valid, "city/lighting/streetlight/l1/telemetry");
        Assert.Equal(DecodeStatus.Rejected, outcome.Status);
        Assert.Equal(RejectReason.InvalidTopic, outcome.Result.Reason);
        Assert.Null(outcome.Topic);
    }

    [Fact]
    public void Decode_SimulatorMessages_AllAccepted()
    {
        var fleet = new Simulators.Lighting.StreetLightFleet(10, 2, "city", 7, Now.AddHours(-1), TimeSpan.FromMinutes(1));
        var decoder = CreateDecoder();
        for (var k = 0; k < 100; k++)
        {
            var m = fleet.Create(k);
            var outcome = decoder.Decode(m.Topic, new ReadOnlySequence<byte>(m.Payload), Now);
            Assert.True(outcome.Status == DecodeStatus.Accepted, outcome.Result.ToString());
            Assert.Equal(m.Timestamp, outcome.Result.Point!.Timestamp);
        }
    }
}
