using System.Text.Json.Nodes;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.NetworkServers;
using static SmartCity.Telemetry.Tests.Devices.NetworkServers.NetworkTestKit;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>ChirpStack v4 events from its docs (../shared/field-networks/samples/chirpstack) through the mapping.</summary>
public sealed class ChirpStackUplinkTests
{
    private const string Device = "0101010101010101";
    private static readonly DateTimeOffset Received = new(2022, 7, 18, 9, 35, 10, TimeSpan.Zero);
    private static readonly string Tags = "device_id=co2-s7-101,device_type=classroom_env,district=d07,sector=education,site=school-7";

    private static string Topic(string ev, string eui = Device) => $"application/{SchoolApp}/device/{eui}/event/{ev}";

    [Fact]
    public void Decode_UplinkWithObject_DoublesMappedToProfileFieldsWithRadioMetadata()
    {
        // The docs' uplink with an object has no CO2 (an AM107): one is added, as a CO2 sensor's codec gives it.
        var payload = With(FieldNetworks.Sample("chirpstack/up.object.DERIVED.json"), ("object/co2", 612.0));

        var outcome = Decoder().Decode(Topic("up"), payload, Received);

        Assert.Equal(
            $"classroom_env,{Tags} co2_ppm=612,temperature_c=30.8,humidity_pct=50.5,battery_pct=92,fcnt=10i,lost_uplinks=0i,f_port=85i,rssi_dbm=-36,snr_db=10.5,gateway_id=\"0016c001f153a14c\",gateways=1i 1658136855775023200",
            Line(outcome));
    }

    [Fact]
    public void Decode_UplinkObjectWithoutARequiredField_MissingField()
    {
        var outcome = Decoder().Decode(Topic("up"), FieldNetworks.Sample("chirpstack/up.object.DERIVED.json"), Received);

        Assert.Equal((DecodeStatus.Rejected, RejectReason.MissingField), (outcome.Status, outcome.Result.Reason));
        Assert.Contains("co2_ppm", outcome.Result.Detail, StringComparison.Ordinal);
        Assert.Equal("co2-s7-101", outcome.Topic!.Value.DeviceId);
    }

    [Fact]
    public void Decode_DataOnlySampleOnFPort1_CodecRejectsTheUndefinedType()
    {
        // data "qg==" is one byte 0xAA: no Elsys type, so the frame is refused (a reference decoder would return {}).
        var outcome = Decoder().Decode(Topic("up"), FieldNetworks.Sample("chirpstack/up.data-only.json"), Received);

        Assert.Equal((DecodeStatus.Rejected, RejectReason.MalformedJson), (outcome.Status, outcome.Result.Reason));
        Assert.Contains("0xaa", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_RawElsysFrame_DecodedByTheFPortCodec()
    {
        var payload = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("data", "AQDiAikEACcFBgYDCA=="), ("fCnt", 7.0));

        var outcome = Decoder().Decode(Topic("up"), payload, Received);

        Assert.Equal(
            $"classroom_env,{Tags} co2_ppm=776,temperature_c=22.6,humidity_pct=41,presence=true,fcnt=7i,lost_uplinks=0i,f_port=1i,rssi_dbm=-36,snr_db=10.5,gateway_id=\"0016c001f153a14c\",gateways=1i 1658136855775023200",
            Line(outcome));
    }

    [Fact]
    public void Decode_Join_IsTheDevicesBirthWithTheMappedProfile()
    {
        var outcome = Decoder().Decode(Topic("join"), FieldNetworks.Sample("chirpstack/join.json"), Received);

        Assert.Equal(MessageKind.Status, outcome.Topic!.Value.Kind);
        Assert.Equal($"device_status,{Tags} online=true,profile=\"classroom_env\" 1658136808823500700", Line(outcome));
    }

    [Fact]
    public void Decode_Status_BatteryAndMarginStored()
    {
        var outcome = Decoder().Decode(Topic("status"), FieldNetworks.Sample("chirpstack/status.json"), Received);

        Assert.Equal($"lorawan_status,{Tags} battery_pct=88.3,margin_db=10i,external_power=false 1658136906927172600", Line(outcome));
    }

    [Fact]
    public void Decode_StatusOfAMainsPoweredDevice_NoBatteryLevel()
    {
        var payload = With(FieldNetworks.Sample("chirpstack/status.json"), ("externalPowerSource", true), ("batteryLevel", 0.0));

        var outcome = Decoder().Decode(Topic("status"), payload, Received);

        Assert.Equal($"lorawan_status,{Tags} margin_db=10i,external_power=true 1658136906927172600", Line(outcome));
    }

    [Theory]
    [InlineData("ack")]
    [InlineData("txack")]
    [InlineData("log")]
    [InlineData("location")]
    [InlineData("integration")]
    public void Decode_EventsThatAreNotUplinks_Ignored(string ev)
    {
        var outcome = Decoder().Decode(Topic(ev), FieldNetworks.Sample($"chirpstack/{ev}.json"), Received);

        Assert.Equal(DecodeStatus.Ignored, outcome.Status);
    }

    [Fact]
    public void Decode_UnknownDevEui_QuarantinedAsUnknownDeviceWithASafeTopic()
    {
        var payload = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("deviceInfo/devEui", "70b3d57ed0000001"));

        var outcome = Decoder().Decode(Topic("up", "70B3D57ED0000001"), payload, Received);

        Assert.Equal((DecodeStatus.Rejected, RejectReason.UnknownDevice), (outcome.Status, outcome.Result.Reason));
        Assert.Equal(new DeviceTopic("lorawan", "unmapped", "unmapped", "chirpstack", "70b3d57ed0000001", MessageKind.Telemetry), outcome.Topic);
    }

    [Fact]
    public void Decode_PayloadNamesAnotherDevEuiThanTheTopic_IdentityMismatch()
    {
        var outcome = Decoder().Decode(Topic("up", "0202020202020202"), FieldNetworks.Sample("chirpstack/up.data-only.json"), Received);

        Assert.Equal(RejectReason.IdentityMismatch, outcome.Result.Reason);
    }

    [Fact]
    public void Decode_MacOnlyUplink_IgnoredButCounted()
    {
        var payload = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("fPort", 0.0), ("data", ""), ("fCnt", 3.0));

        var outcome = Decoder().Decode(Topic("up"), payload, Received);

        Assert.Equal((DecodeStatus.Ignored, "co2-s7-101"), (outcome.Status, outcome.Topic?.DeviceId));
    }

    [Theory]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"fPort\":1,\"data\":\"AQ", RejectReason.MalformedJson)]
    [InlineData("{\"fPort\":1,\"data\":\"AQDiAikGAwg=\"}", RejectReason.MissingField)]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"fPort\":1.5,\"data\":\"AQDiAikGAwg=\"}", RejectReason.WrongType)]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"fPort\":1,\"data\":\"not base64!\"}", RejectReason.MalformedJson)]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"time\":\"18/07/2022 09:34\",\"fPort\":1,\"data\":\"AQDiAikGAwg=\"}", RejectReason.InvalidTimestamp)]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"time\":\"2021-01-01T00:00:00+00:00\",\"fPort\":1,\"data\":\"AQDiAikGAwg=\"}", RejectReason.InvalidTimestamp)]
    [InlineData("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"fPort\":9,\"data\":\"AQDiAikGAwg=\"}", RejectReason.UnsupportedMessageKind)]
    public void Decode_MalformedUplink_RejectedWithReason(string payload, RejectReason reason)
    {
        var outcome = Decoder().Decode(Topic("up"), payload, Received);

        Assert.Equal((DecodeStatus.Rejected, reason), (outcome.Status, outcome.Result.Reason));
    }

    [Theory]
    [InlineData("2022-07-18T09:34:15+00:00", 1658136855000000000)]
    [InlineData("2022-07-18T09:34:15.775+00:00", 1658136855775000000)]
    [InlineData("2022-07-18T09:34:15.775023+00:00", 1658136855775023000)]
    [InlineData("2022-07-18T09:34:15.775023242Z", 1658136855775023200)]
    public void Decode_TimeWith0To9FractionalDigits_Parsed(string time, long nanoseconds)
    {
        var payload = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("time", time), ("data", "AQDiAikGAwg="));

        var outcome = Decoder().Decode(Topic("up"), payload, Received);

        Assert.Equal(nanoseconds, outcome.Result.Point!.UnixNanoseconds);
    }

    [Fact]
    public void Decode_FrameCounterGapRepeatAndReset_LostUplinksCountedOnce()
    {
        var metrics = new NetworkServerMetrics();
        var decoder = Decoder(metrics);
        long Lost(long fCnt) => decoder.Decode(Topic("up"), With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("fCnt", (double)fCnt), ("data", "AQDiAikGAwg=")), Received)
            .Result.Point!.GetField("lost_uplinks")!.Value.Integer;

        Assert.Equal([0L, 3, 0, 0, 1], [Lost(10), Lost(14), Lost(14), Lost(2), Lost(4)]);
        Assert.Equal((4L, 1L), (metrics.LostUplinks, metrics.CounterResets));
    }

    [Fact]
    public void Decode_JoinBetweenUplinks_NewSessionCountedFromZero()
    {
        var decoder = Decoder();
        string Up(long fCnt) => With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("fCnt", (double)fCnt), ("data", "AQDiAikGAwg="));
        decoder.Decode(Topic("up"), Up(500), Received);
        decoder.Decode(Topic("join"), FieldNetworks.Sample("chirpstack/join.json"), Received);

        // The new session's frames 0 and 1 never arrived (without the join this would be a reset: nothing counted).
        var after = decoder.Decode(Topic("up"), Up(2), Received);

        Assert.Equal(2, after.Result.Point!.GetField("lost_uplinks")!.Value.Integer);
    }

    [Theory]
    [InlineData(4294967290L, 3L, 8L)]
    [InlineData(100L, 101L, 0L)]
    [InlineData(0L, 16385L, 16384L)]
    public void Observe_CounterWrapAndGaps_LostAsTheSpecCounts(long first, long next, long lost)
    {
        var counters = new FrameCounters();
        counters.Observe("d", first);

        Assert.Equal(new FrameCounterCheck(lost, false), counters.Observe("d", next));
    }

    [Fact]
    public void TryDecode_DeviceContractTopic_NotRouted()
    {
        Assert.False(Decoder().TryDecode("city/lighting/d01/s/streetlight/l1/telemetry", default, Received, out _));
    }
}
