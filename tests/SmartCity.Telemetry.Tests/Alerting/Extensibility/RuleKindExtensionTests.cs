using System.Text;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Tests.Alerting.Extensibility;

/// <summary>
/// A new rule kind is one evaluator file plus one registration: <see cref="ZeroReadingEvaluator"/>
/// is added here, a profile uses it, and the engine raises and resolves its alert, without any
/// change to the worker's sources.
/// </summary>
public sealed class RuleKindExtensionTests
{
    private const string Profile = """
        {
          "id": "pulse_meter",
          "version": "1.0.0",
          "sector": "lighting",
          "deviceType": "pulse_meter",
          "description": "Energy pulse meter of a lighting cabinet (test-only profile).",
          "expectedInterval": "00:05:00",
          "messages": {
            "telemetry": {
              "measurement": "pulse_meter",
              "versions": [1],
              "fields": [ { "name": "pulses", "type": "float", "min": 0 } ]
            }
          },
          "alerts": [
            { "rule": "meter_stopped", "severity": "minor", "kind": "zero_reading", "field": "pulses", "description": "The meter counts no pulses." }
          ]
        }
        """;

    private static readonly DateTimeOffset Noon = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Parse_KindNotInVocabulary_IsRefusedNamingTheKind()
    {
        var (profile, error) = ProfileLoader.Parse("pulse_meter", Encoding.UTF8.GetBytes(Profile));

        Assert.Null(profile);
        Assert.Contains(error!.Problems, p => p.Contains("$.alerts[0].kind", StringComparison.Ordinal));
    }

    [Fact]
    public void Observe_TestOnlyRuleKind_RaisesAndResolvesThroughTheEngine()
    {
        var evaluators = RuleEvaluators.BuiltIn.With(new ZeroReadingEvaluator());
        var (profile, error) = ProfileLoader.Parse("pulse_meter", Encoding.UTF8.GetBytes(Profile), vocabulary: evaluators.Vocabulary);
        Assert.Null(error);
        var time = new FakeTimeProvider(Noon);
        var engine = new AlertEngine(new AlertingOptions(), [profile!], null, time, null, evaluators);

        Assert.Empty(engine.Observe(Reading(time.GetUtcNow(), 12), "pulse_meter"));
        time.Advance(TimeSpan.FromMinutes(5));
        var raised = Assert.Single(engine.Observe(Reading(time.GetUtcNow(), 0), "pulse_meter"));
        time.Advance(TimeSpan.FromMinutes(5));
        var resolved = Assert.Single(engine.Observe(Reading(time.GetUtcNow(), 7), "pulse_meter"));

        Assert.Equal((AlertTransitionKind.Raised, "meter_stopped", "meter-1"), (raised.Kind, raised.Alert.Rule, raised.Alert.DeviceId));
        Assert.Equal(AlertTransitionKind.Resolved, resolved.Kind);
        Assert.Equal(raised.Alert.Id, resolved.Alert.Id);
        Assert.Empty(engine.OpenAlerts());
    }

    [Fact]
    public void ParseSeverityAndSchedule_EveryVocabularyName_GivesTheEnumMemberOfThatName()
    {
        // The enums follow the vocabulary's order; a name out of place would parse to the wrong member.
        Assert.Equal(
            RuleVocabulary.Severities,
            RuleVocabulary.Severities.Select(n => AlertRule.ParseSeverity(n)!.Value.ToString().ToLowerInvariant()));
        Assert.Equal(
            RuleVocabulary.Schedules.Select(n => n.Replace("_", "", StringComparison.Ordinal)),
            RuleVocabulary.Schedules.Select(n => AlertRule.ParseSchedule(n)!.Value.ToString().ToLowerInvariant()));
        Assert.Null(AlertRule.ParseSeverity("fatal"));
    }

    private static Point Reading(DateTimeOffset ts, double pulses) =>
        Point.ForDevice("pulse_meter", ts, new DeviceTopic("lighting", "north", "depot", "pulse_meter", "meter-1", MessageKind.Telemetry)).Field("pulses", pulses);
}
