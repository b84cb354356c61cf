using System.Text.Json.Nodes;
using SmartCity.Telemetry.Devices;
using static SmartCity.Telemetry.Tests.Devices.NetworkServers.NetworkTestKit;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>The Things Stack v3 messages from its docs and tests (../shared/field-networks/samples/tts) through the mapping.</summary>
public sealed class TheThingsStackUplinkTests
{
    private static readonly DateTimeOffset Received = new(2020, 2, 12, 15, 16, 0, TimeSpan.Zero);
    private const string Tags = "device_id=lc-d01-001,device_type=light_controller,district=d01,sector=lighting,site=main-st";

    private static readonly string PubSubLamps = """
        {
          "network": "the-things-stack", "application": "app1", "profile": "light_controller",
          "district": "d01", "site": "main-st", "codecs": { "1": "elsys_ers_v1" },
          "pubSub": { "uplink": "city-lorawan/uplink", "join": "city-lorawan/join" },
          "devices": [ { "networkDeviceId": "dev1", "deviceId": "lc-d01-001" } ]
        }
        """;

    [Theory]
    [InlineData("v3/app1@tenant1/devices/dev1/up")]
    [InlineData("v3/app1/devices/dev1/up")]
    public void Decode_DecodedPayloadOnCloudOrOpenSourceTopic_MappedWithUnitsAndUpperCaseDevEui(string topic)
    {
        // The docs' example (temperature, luminosity) with a light controller's members added, in the
        // shapes makers' formatters use: a number as a string, {value, unit}, a state as a word.
        var payload = With(FieldNetworks.Sample("tts/up.decoded.data-formats.DERIVED.json"),
            ("uplink_message/decoded_payload/voltage", "229.8"),
            ("uplink_message/decoded_payload/power_consumption", new JsonObject { ["value"] = 1.5, ["unit"] = "kWh" }),
            ("uplink_message/decoded_payload/total_current", 210.0),
            ("uplink_message/decoded_payload/power_factor", 95.0),
            ("uplink_message/decoded_payload/switch_1", "on"));

        var outcome = Decoder().Decode(topic, payload, Received);

        // No f_port in the sample (the docs left it out), f_cnt 1; received_at of the message is the point's time.
        Assert.Equal(
            $"street_light,{Tags} on=true,energy_kwh=1.5,voltage_v=229.8,current_a=0.21,power_factor=0.95,fcnt=1i,lost_uplinks=0i,rssi_dbm=-35,snr_db=5,gateway_id=\"gtw1\",gateways=1i 1581520546014773100",
            Line(outcome));
    }

    [Fact]
    public void Decode_AsPublishedExampleWithTheMissingComma_MalformedJson()
    {
        var outcome = Decoder().Decode("v3/app1@tenant1/devices/dev1/up", FieldNetworks.Sample("tts/up.decoded.data-formats.AS-PUBLISHED-INVALID.json"), Received);

        Assert.Equal((DecodeStatus.Rejected, RejectReason.MalformedJson), (outcome.Status, outcome.Result.Reason));
        Assert.Equal("lc-d01-001", outcome.Topic!.Value.DeviceId);
    }

    [Fact]
    public void Decode_FrmPayloadOnAPortWithoutCodec_UnsupportedWithTheFileNamed()
    {
        var outcome = Decoder().Decode("v3/app1@tenant1/devices/dev1/up", FieldNetworks.Sample("tts/up.frm-only.mqtt-doc.json"), Received);

        Assert.Equal(RejectReason.UnsupportedMessageKind, outcome.Result.Reason);
        Assert.Contains("fPort 15", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_FrmPayloadWithoutFCnt_CodecDecodesAndFCntIsZero()
    {
        // f_cnt 0 is left out by TTS; the WS558 frame of the maker's example 1 (222.6 V).
        var payload = With(FieldNetworks.Sample("tts/up.frm-only.mqtt-doc.json"), ("uplink_message/f_port", 85), ("uplink_message/frm_payload", "A3SyCA=="));

        var outcome = Decoder().Decode("v3/app1@tenant1/devices/dev1/up", payload, Received);

        Assert.Equal($"street_light,{Tags} voltage_v=222.6,fcnt=0i,lost_uplinks=0i,f_port=85i,rssi_dbm=-35,snr_db=5,gateway_id=\"eui-0242020000247803\",gateways=1i 1581520560000000000", Line(outcome));
    }

    [Fact]
    public void Decode_PubSubUplinkWithoutDevEui_FoundByDeviceId()
    {
        var decoder = Decoder(null, PubSubLamps);
        var payload = With(FieldNetworks.Sample("tts/up.pubsub-mqtt-client.json"), ("received_at", "2020-02-12T15:15:00Z"));

        var outcome = decoder.Decode("city-lorawan/uplink", payload, Received);

        // Its one byte 0x01 starts an Elsys temperature without the value: the device is known, the frame refused.
        Assert.Equal((RejectReason.MalformedJson, "lc-d01-001"), (outcome.Result.Reason, outcome.Topic!.Value.DeviceId));
        Assert.Contains("truncated", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v3/app1@tenant1/devices/dev1/up/normalized")]
    [InlineData("v3/app1@tenant1/devices/dev1/down/ack")]
    [InlineData("v3/app1@tenant1/devices/dev1/down/failed")]
    public void Decode_NormalizedDuplicateAndDownlinkEvents_Ignored(string topic)
    {
        var outcome = Decoder().Decode(topic, FieldNetworks.Sample("tts/down-ack.data-formats.json"), Received);

        Assert.Equal(DecodeStatus.Ignored, outcome.Status);
    }

    [Theory]
    [InlineData("tts/join.mqtt-doc.json")]
    [InlineData("tts/join.data-formats.json")]
    public void Decode_Join_IsTheDevicesBirth(string sample)
    {
        var payload = With(FieldNetworks.Sample(sample), ("end_device_ids/device_id", "dev1"), ("end_device_ids/application_ids/application_id", "app1"), ("received_at", "2020-02-12T15:15:00Z"));

        var outcome = Decoder().Decode("v3/app1@tenant1/devices/dev1/join", payload, Received);

        Assert.Equal($"device_status,{Tags} online=true,profile=\"light_controller\" 1581520500000000000", Line(outcome));
    }

    [Fact]
    public void Decode_UnknownDeviceId_QuarantinedUnderItsId()
    {
        var payload = With(FieldNetworks.Sample("tts/up.formatter-golden.json"), ("received_at", "2020-02-12T15:15:00Z"));

        var outcome = Decoder().Decode("v3/foo-app/devices/foo-device/up", payload, Received);

        Assert.Equal((RejectReason.UnknownDevice, "foo-device", "the-things-stack"), (outcome.Result.Reason, outcome.Topic!.Value.DeviceId, outcome.Topic!.Value.DeviceType));
    }

    [Fact]
    public void Decode_PayloadDeviceIdDiffersFromTopic_IdentityMismatch()
    {
        var outcome = Decoder().Decode("v3/app1@tenant1/devices/dev2/up", FieldNetworks.Sample("tts/up.decoded.data-formats.DERIVED.json"), Received);

        Assert.Equal(RejectReason.IdentityMismatch, outcome.Result.Reason);
    }

    [Fact]
    public void Decode_UplinkEventWithoutUplinkMessage_MissingField()
    {
        var outcome = Decoder().Decode("v3/app1/devices/dev1/up", """{"end_device_ids":{"device_id":"dev1"}}""", Received);

        Assert.Equal(RejectReason.MissingField, outcome.Result.Reason);
    }
}
