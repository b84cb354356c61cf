using SmartCity.Telemetry.Alerting.Notifiers.Smtp;
using SmartCity.Telemetry.Alerting.Notifiers.Webhook;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Sinks.Influx;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Diagnostics;

/// <summary>
/// Every secret setting refuses the placeholders of .env.example and their kind at start, naming the
/// setting and never echoing the value; real secrets, and settings left empty, pass.
/// </summary>
public sealed class SecretSettingsTests
{
    // .env.example's values, and what a hurried operator types instead.
    public static TheoryData<string> Placeholders => new()
    {
        "change-me-influxdb-admin-token",
        "change-me-worker-mqtt-password",
        "CHANGEME",
        "changeme123",
        "change_me",
        "placeholder",
        "my-placeholder-token",
        "your-token-here",
        "<token>",
        "${INFLUX_TOKEN}",
        "secret",
        "Password",
        "todo",
        "xxxxxxxx",
        "********",
        "   ",
    };

    private static List<string> Failures<T>(string section, T options)
        where T : class => new SectionValidator<T>(section).Validate(null, options).Failures?.ToList() ?? [];

    [Theory]
    [MemberData(nameof(Placeholders))]
    public void Validate_PlaceholderInfluxToken_FailsNamingTheSetting(string placeholder)
    {
        var failures = Failures("Influx", new InfluxSinkOptions { Url = "http://influx:8086", Token = placeholder, Org = "o", Bucket = "b" });

        // The token is required: white space only is refused as missing before it could be a placeholder.
        var expected = string.IsNullOrWhiteSpace(placeholder) ? "Influx:Token: is required" : "Influx:Token: is a placeholder";
        Assert.StartsWith(expected, Assert.Single(failures), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Placeholders))]
    public void Validate_PlaceholderMqttPassword_FailsNamingTheSetting(string placeholder)
    {
        var failures = Failures("Mqtt", new MqttSourceOptions { Host = "broker", Username = "smartcity-worker", Password = placeholder });

        Assert.StartsWith("Mqtt:Password: is a placeholder", Assert.Single(failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PlaceholderWebhookSigningKey_FailsNamingTheSetting()
    {
        var failures = Failures("Alerting:Webhook", new WebhookOptions { Url = "https://hooks.city.test/alerts", SigningKey = "change-me" });

        Assert.StartsWith("Alerting:Webhook:SigningKey: is a placeholder", Assert.Single(failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PlaceholderSmtpPasswordWhileMailLogsIn_FailsNamingTheSetting()
    {
        var options = new SmtpOptions { Host = "smtp.city.test", From = "alerts@city.test", To = { "ops@city.test" }, Username = "alerts", Password = "change-me-smtp-password" };

        Assert.StartsWith("Alerting:Smtp:Password: is a placeholder", Assert.Single(Failures("Alerting:Smtp", options)), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PlaceholderSmtpPasswordWhileMailIsOff_Passes()
    {
        // docker-compose passes .env.example's SMTP_PASSWORD placeholder even with SMTP_HOST empty: unused, harmless.
        Assert.Empty(Failures("Alerting:Smtp", new SmtpOptions { Password = "change-me-smtp-password" }));
    }

    [Theory]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    [InlineData("dev-token-ignored-by-1x")]
    [InlineData("Tr0ub4dor&3-correct-horse")]
    [InlineData("t")]
    public void Validate_RealSecrets_Pass(string secret)
    {
        Assert.Empty(Failures("Influx", new InfluxSinkOptions { Url = "http://influx:8086", Token = secret, Org = "o", Bucket = "b" }));
        Assert.Empty(Failures("Mqtt", new MqttSourceOptions { Host = "broker", Username = "u", Password = secret }));
        Assert.Empty(Failures("Alerting:Webhook", new WebhookOptions { Url = "https://hooks.city.test/alerts", SigningKey = secret }));
    }

    [Fact]
    public void Validate_SecretsNotSet_LeftToEachSetting()
    {
        // Empty is "not set": the MQTT password is optional (anonymous broker), the token is required.
        Assert.Empty(Failures("Mqtt", new MqttSourceOptions { Host = "broker", Username = "u", Password = "" }));
        Assert.StartsWith("Influx:Token: is required", Assert.Single(Failures("Influx", new InfluxSinkOptions { Url = "http://influx:8086", Org = "o", Bucket = "b" })), StringComparison.Ordinal);
    }
}
