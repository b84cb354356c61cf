using SmartCity.Telemetry.Partitioning;

namespace SmartCity.Telemetry.Tests.Partitioning;

public sealed class TopicFiltersTests
{
    // Golden cases: (a, b, overlap), each checked both ways round.
    [Theory]
    [InlineData("city/#", "city/#", true)]
    [InlineData("city/#", "city", true)] // '#' also matches the parent level
    [InlineData("city/#", "town/#", false)]
    [InlineData("#", "city/lighting/d01", true)]
    [InlineData("city/+/d01/#", "city/+/d02/#", false)]
    [InlineData("city/+/d01/#", "city/lighting/+/#", true)]
    [InlineData("city/+/d01/#", "city/lighting/d01/site/streetlight/lamp-1/telemetry", true)]
    [InlineData("city/+/d01/#", "city/lighting/d02/site/streetlight/lamp-1/telemetry", false)]
    [InlineData("city/+", "city/+/+", false)] // '+' is exactly one level
    [InlineData("city/+", "city/a/#", true)]
    [InlineData("city/+/#", "city", false)] // "city/+/#" needs a second level
    [InlineData("city/+/#", "city/x", true)]
    [InlineData("city/a/b", "city/a", false)]
    [InlineData("city/a", "city/a/#", true)]
    [InlineData("+/+", "city/x", true)]
    [InlineData("+", "", true)] // an empty level is a level
    [InlineData("#", "$SYS/broker", false)] // first-level wildcards never match '$' topics
    [InlineData("+/broker", "$SYS/broker", false)]
    [InlineData("$SYS/#", "$SYS/broker", true)]
    [InlineData("cityA/#", "cityAB/#", false)] // levels, not string prefixes
    public void Overlap_GoldenCases_MatchMqttWildcardSemantics(string a, string b, bool expected)
    {
        Assert.Equal(expected, TopicFilters.Overlap(a, b));
        Assert.Equal(expected, TopicFilters.Overlap(b, a));
    }

    [Theory]
    [InlineData("city/#", "city", true)]
    [InlineData("city/#", "city/a/b", true)]
    [InlineData("city/+", "city/a/b", false)]
    [InlineData("city/+/b", "city//b", true)]
    [InlineData("#", "$SYS/x", false)]
    [InlineData("city/a", "city/a", true)]
    [InlineData("city/a", "city/ab", false)]
    public void Matches_GoldenCases_MatchMqttWildcardSemantics(string filter, string topic, bool expected) =>
        Assert.Equal(expected, TopicFilters.Matches(filter, topic));

    [Theory]
    [InlineData("city/#/x")]
    [InlineData("city/a#")]
    [InlineData("city/a+/b")]
    [InlineData("")]
    [InlineData("$share/g/city/#")]
    public void Problem_MalformedOrSharedFilter_IsNamed(string filter) => Assert.NotNull(TopicFilters.Problem(filter));

    [Theory]
    [InlineData("city/#")]
    [InlineData("city/+/d01/#")]
    [InlineData("#")]
    public void Problem_WellFormedFilter_IsNull(string filter) => Assert.Null(TopicFilters.Problem(filter));
}
