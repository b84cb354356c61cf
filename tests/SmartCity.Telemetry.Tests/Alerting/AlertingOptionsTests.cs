using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Tests.Alerting;

public sealed class AlertingOptionsTests
{
    private static IEnumerable<string> Failures(AlertingOptions options) =>
        new SectionValidator<AlertingOptions>(AlertingOptions.SectionName).Validate(null, options).Failures ?? [];

    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(Failures(new AlertingOptions()));
        Assert.Equal(TimeSpan.FromMinutes(15), new AlertingOptions().EscalateCriticalAfter);
        Assert.Equal("data/alerts.json", new AlertingOptions().StateFile);
    }

    [Fact]
    public void Validate_AttributeProblem_NamesItsSetting()
    {
        // DataAnnotations run first; the cross-field checks below run once these pass.
        Assert.StartsWith("Alerting:Latitude:", Assert.Single(Failures(new AlertingOptions { Latitude = 95 })), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EveryCrossFieldProblem_NamesItsSetting()
    {
        var options = new AlertingOptions
        {
            TimeZone = "Europe/Atlantis",
            EscalateCriticalAfter = TimeSpan.Zero,
            SchoolHours = { Start = new TimeOnly(15, 0), End = new TimeOnly(8, 0) },
            Flapping = { MaxTransitions = 1 },
        };

        var failures = Failures(options).ToList();

        Assert.Contains(failures, f => f.StartsWith("Alerting:TimeZone:", StringComparison.Ordinal) && f.Contains("Europe/Atlantis", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Alerting:EscalateCriticalAfter:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Alerting:SchoolHours:End:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Alerting:Flapping:MaxTransitions:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:01:00.001")]
    public void Validate_StateSaveDelayOutOfRange_NamesItsSetting(string delay)
    {
        var failure = Assert.Single(Failures(new AlertingOptions { StateSaveDelay = TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) }));
        Assert.StartsWith("Alerting:StateSaveDelay:", failure, StringComparison.Ordinal);
    }
}
