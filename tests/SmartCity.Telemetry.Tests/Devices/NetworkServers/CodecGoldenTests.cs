using System.Buffers;
using System.Text.Json;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Plugins;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>
/// Every codec against the makers' reference vectors (../shared/field-networks/vectors): each value the
/// reference decoder gives for a quantity our profile stores must come out of our codec, converted to
/// the profile's unit; truncated frames, which the reference decoders read past, must be rejected.
/// </summary>
public sealed class CodecGoldenTests
{
    private static readonly DeviceTopic Classroom = new("education", "d07", "school-7", "classroom_env", "co2-1", MessageKind.Telemetry);
    private static readonly DeviceTopic Lamp = new("lighting", "d01", "main-st", "light_controller", "lc-1", MessageKind.Telemetry);
    private static readonly DateTimeOffset At = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    // The WS558 reference decoder's names for the street-light quantities, and the factor to our unit.
    private static readonly Dictionary<string, (string Field, double Factor)> Ws558Quantities = new()
    {
        ["voltage"] = ("voltage_v", 1),
        ["active_power"] = ("power_w", 1),
        ["power_factor"] = ("power_factor", 0.01),
        ["power_consumption"] = ("energy_kwh", 0.001),
        ["total_current"] = ("current_a", 0.001),
    };

    public static TheoryData<string, int> Vectors()
    {
        var data = new TheoryData<string, int>();
        foreach (var device in new[] { "elsys-ers-co2", "milesight-iot-ws558" })
        {
            for (var i = 0; i < FieldNetworks.Vectors(device).Count; i++)
            {
                data.Add(device, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decode_ReferenceVector_GivesTheReferenceQuantitiesOrRejectsTheTruncatedFrame(string device, int index)
    {
        var vector = FieldNetworks.Vectors(device)[index];
        var (codec, profileId, topic) = device == "elsys-ers-co2"
            ? ((IPayloadDecoderPlugin)new ElsysCodec(), "classroom_env", Classroom)
            : (new MilesightWs558Codec(), "light_controller", Lamp);
        var profile = FieldNetworks.Profiles.Find(profileId)!;
        var spec = profile.Messages["telemetry"];
        var frame = Convert.FromHexString(vector.GetProperty("hex").GetString()!);

        var result = codec.Decode(profile, spec, topic, new ReadOnlySequence<byte>(frame), At, new DecodingOptions());

        var hex = vector.GetProperty("hex").GetString();
        if (vector.GetProperty("kind").GetString() == "truncated")
        {
            if (result.IsAccepted)
            {
                // Cut exactly at a record boundary, a frame is a shorter valid report (WS558 reports any subset
                // of its channels): accepted only if no value was invented beyond the cut.
                Assert.True(device == "milesight-iot-ws558", $"{hex}: truncated frame accepted: {result}");
                foreach (var reference in vector.GetProperty("expected").EnumerateObject())
                {
                    var (field, factor) = Ws558Quantities[reference.Name];
                    Assert.Equal(reference.Value.GetDouble() * factor, result.Point!.GetField(field)!.Value.Number, 9);
                }
            }

            return;
        }

        if (vector.GetProperty("out_of_range").GetArrayLength() > 0)
        {
            // The reference decoder outputs physically impossible values (1274.5 V); the profile's range refuses them.
            Assert.Equal(RejectReason.OutOfRange, result.IsAccepted ? default(RejectReason?) : result.Reason);
            return;
        }

        Assert.True(result.IsAccepted, $"{hex}: {result}");
        AssertQuantities(vector, spec.Measurement, result.Point!, hex!);
    }

    private static void AssertQuantities(JsonElement vector, string measurement, Point point, string hex)
    {
        var checkedCount = 0;
        foreach (var q in vector.GetProperty("quantities").EnumerateArray())
        {
            if (!q.TryGetProperty("product_field", out var pf) || pf.GetString() is not { } target)
            {
                continue;
            }

            var field = target.Split('.')[1];
            var expected = q.GetProperty("product_value");
            var actual = point.GetField(field);
            Assert.True(actual is not null, $"{hex}: no {field} (reference {expected})");
            if (expected.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                Assert.Equal(expected.GetBoolean(), actual!.Value.Boolean);
            }
            else
            {
                Assert.Equal(expected.GetDouble(), actual!.Value.Number, 9);
            }

            checkedCount++;
        }

        Assert.True(checkedCount > 0 || vector.GetProperty("kind").GetString() == "truncated", $"{hex}: the vector names no {measurement} quantity");
    }

    [Theory]
    [InlineData("0100e20229", "education")] // temperature and humidity only: no CO2 (required)
    [InlineData("0100e2022906", "education")] // CO2 type without its two bytes
    [InlineData("42010203", "education")] // a type the specification does not define
    [InlineData("", "education")]
    [InlineData("0374b2", "lighting")] // voltage cut after one byte
    [InlineData("0999b208", "lighting")] // unknown channel
    [InlineData("03", "lighting")] // a channel without its type
    public void Decode_FrameTheSpecificationDoesNotAllow_Rejected(string hex, string sector)
    {
        var lamp = sector == "lighting";
        var profile = FieldNetworks.Profiles.Find(lamp ? "light_controller" : "classroom_env")!;
        IPayloadDecoderPlugin codec = lamp ? new MilesightWs558Codec() : new ElsysCodec();

        var result = codec.Decode(profile, profile.Messages["telemetry"], lamp ? Lamp : Classroom, new ReadOnlySequence<byte>(Convert.FromHexString(hex)), At, new DecodingOptions());

        Assert.False(result.IsAccepted, result.ToString());
        Assert.Contains(result.Reason, new[] { RejectReason.MalformedJson, RejectReason.MissingField });
    }

    [Fact]
    public void Decode_ElsysNegativeTemperatureAndSettings_ReadAsSignedAndSkipped()
    {
        // -20.0 degC (0xFF38), 35 %, a settings record of 2 bytes (0x3E, length 2), CO2 400 ppm, sound peak 60 avg 45.
        var frame = Convert.FromHexString("01ff3802233e02aabb060190153c2d");
        var profile = FieldNetworks.Profiles.Find("classroom_env")!;

        var result = new ElsysCodec().Decode(profile, profile.Messages["telemetry"], Classroom, new ReadOnlySequence<byte>(frame), At, new DecodingOptions());

        Assert.Equal(
            "classroom_env,device_id=co2-1,device_type=classroom_env,district=d07,sector=education,site=school-7 co2_ppm=400,temperature_c=-20,humidity_pct=35,noise_dba=45 1796630400000000000",
            LineProtocol.Format(result.Point!));
    }

    [Fact]
    public void Decode_Ws558RelayOneOffWhileOthersDrawPower_OnIsRelayOne()
    {
        // 230.0 V, 120 W, relays 2 and 3 on, relay 1 off.
        var frame = Convert.FromHexString("0374fc080480780000000831" + "0006");
        var profile = FieldNetworks.Profiles.Find("light_controller")!;

        var result = new MilesightWs558Codec().Decode(profile, profile.Messages["telemetry"], Lamp, new ReadOnlySequence<byte>(frame), At, new DecodingOptions());

        Assert.Equal(
            "street_light,device_id=lc-1,device_type=light_controller,district=d01,sector=lighting,site=main-st on=false,power_w=120,voltage_v=230 1796630400000000000",
            LineProtocol.Format(result.Point!));
    }
}
