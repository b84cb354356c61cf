using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Tests.Devices;

public class TopicParserTests
{
    private readonly TopicParser _parser = new("city");

    [Fact]
    public void TryParse_ContractTopic_ReturnsEverySegment()
    {
        Assert.True(_parser.TryParse("city/lighting/d01/d01-street-001/streetlight/lamp-000001/telemetry", out var t, out var error), error);
        Assert.Equal(new DeviceTopic("lighting", "d01", "d01-street-001", "streetlight", "lamp-000001", MessageKind.Telemetry), t);
    }

    [Theory]
    [InlineData("city/education/north/school-7/classroom_env/room-12/status", MessageKind.Status)]
    [InlineData("city/security/centre/town-hall/door_contact/door-3/event", MessageKind.Event)]
    [InlineData("city/lighting/d1/s1/streetlight/lamp-1/cmd", MessageKind.Command)]
    public void TryParse_EverySectorAndKind_Parses(string topic, MessageKind kind)
    {
        Assert.True(_parser.TryParse(topic, out var t, out _));
        Assert.Equal(kind, t.Kind);
    }

    [Fact]
    public void TryParse_MultiSegmentRoot_StripsRoot()
    {
        var parser = new TopicParser("test-1a2b/city");
        Assert.True(parser.TryParse("test-1a2b/city/lighting/d1/s1/streetlight/l1/telemetry", out var t, out _));
        Assert.Equal("l1", t.DeviceId);
    }

    [Theory]
    [InlineData("town/lighting/d1/s1/streetlight/l1/telemetry", "does not start")]
    [InlineData("city/lighting/d1/streetlight/l1/telemetry", "expected {sector}")]
    [InlineData("city/lighting/d1/s1/streetlight/l1/telemetry/extra", "expected {sector}")]
    [InlineData("city/parking/d1/s1/streetlight/l1/telemetry", "unknown sector")]
    [InlineData("city/lighting/d1/s1/streetlight/l1/data", "unknown message kind")]
    [InlineData("city/lighting/d 1/s1/streetlight/l1/telemetry", "segment 2")]
    [InlineData("city/lighting/d1/s,1/streetlight/l1/telemetry", "segment 3")]
    [InlineData("city/lighting/d1/s1/street=light/l1/telemetry", "segment 4")]
    [InlineData("city/lighting/d1/s1/streetlight/lämp/telemetry", "segment 5")]
    [InlineData("city/lighting/d1/s1/streetlight/l\"1/telemetry", "segment 5")]
    [InlineData("city/lighting//s1/streetlight/l1/telemetry", "segment 2")]
    public void TryParse_HostileOrMalformedTopic_RejectsWithReason(string topic, string expected)
    {
        Assert.False(_parser.TryParse(topic, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_OverlongSegment_Rejects()
    {
        var topic = $"city/lighting/d1/s1/streetlight/{new string('x', TopicParser.MaxSegmentLength + 1)}/telemetry";
        Assert.False(_parser.TryParse(topic, out _, out var error));
        Assert.Contains("segment 5", error, StringComparison.Ordinal);
    }
}
