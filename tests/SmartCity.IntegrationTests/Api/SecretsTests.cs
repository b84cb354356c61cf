using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Alerting.Notifiers.Webhook;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Sinks.Influx;
using SmartCity.Telemetry.Source;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Api;

/// <summary>
/// Secrets (broker password, InfluxDB token, webhook signing key, SMTP password, API keys) come
/// from secret files and are never logged nor returned: at start, in a configuration error, on
/// connection failures and in API answers.
/// </summary>
public sealed class SecretsTests
{
    [Fact]
    public async Task Secrets_FromFiles_UsedButNeverLoggedNorReturned()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var baseSettings = TestWorker.Settings(db, "unused", "unused");
        // Real credentials where the test servers check them; otherwise values only this test knows.
        var mqttPassword = baseSettings.GetValueOrDefault("Mqtt:Password") ?? "mqtt-pw-" + Guid.NewGuid().ToString("N");
        var influxToken = TestServers.InfluxKind == "v1" ? "influx-token-" + Guid.NewGuid().ToString("N") : TestServers.InfluxToken;
        var signingKey = "signing-key-" + Guid.NewGuid().ToString("N");
        var smtpPassword = "smtp-pw-" + Guid.NewGuid().ToString("N");
        var apiKey = "api-key-" + Guid.NewGuid().ToString("N");
        var wrongKey = "wrong-key-" + Guid.NewGuid().ToString("N");
        string[] secrets = [mqttPassword, influxToken, signingKey, smtpPassword, apiKey, wrongKey];

        // Docker/Kubernetes style: a folder of files named like the settings, and <Setting>File paths.
        var folder = Path.Combine(Path.GetTempPath(), "smartcity-it-secrets", TestServers.UniqueName("s-"));
        var secretsDir = Directory.CreateDirectory(Path.Combine(folder, "dir")).FullName;
        await File.WriteAllTextAsync(Path.Combine(secretsDir, "Influx__Token"), influxToken + "\n");
        await File.WriteAllTextAsync(Path.Combine(secretsDir, "Alerting__Smtp__Password"), smtpPassword + "\n");
        var mqttFile = Path.Combine(folder, "mqtt-password");
        await File.WriteAllTextAsync(mqttFile, mqttPassword + "\n");
        var signingFile = Path.Combine(folder, "webhook-key");
        await File.WriteAllTextAsync(signingFile, signingKey);
        var apiKeyFile = Path.Combine(folder, "api-key");
        await File.WriteAllTextAsync(apiKeyFile, apiKey + "\n");
        var fromFiles = new Dictionary<string, string?>
        {
            ["SECRETS_DIR"] = secretsDir,
            ["Influx:Token"] = null,
            ["Mqtt:Username"] = baseSettings.GetValueOrDefault("Mqtt:Username") ?? "smartcity-worker",
            ["Mqtt:Password"] = null,
            ["Mqtt:PasswordFile"] = mqttFile,
            ["Alerting:Webhook:Url"] = $"http://127.0.0.1:{ApiTestKit.ClosedPort()}/hook",
            ["Alerting:Webhook:Retries"] = "1",
            ["Alerting:Webhook:SigningKeyFile"] = signingFile,
            ["Api:Keys:3:Name"] = "sam.secret",
            ["Api:Keys:3:Role"] = "admin",
            ["Api:Keys:3:KeyFile"] = apiKeyFile,
            ["PipelineReport:Interval"] = "00:00:01",
        };

        // 1. A working worker: the secrets are in force, the API answers, nothing shows them.
        var answers = new List<string>();
        LogCapture workingLogs;
        await using (var worker = await TestWorker.StartAsync(db, overrides: fromFiles))
        {
            workingLogs = worker.Logs;
            var services = worker.Services;
            Assert.Equal(mqttPassword, services.GetRequiredService<IOptions<MqttSourceOptions>>().Value.Password);
            Assert.Equal(influxToken, services.GetRequiredService<IOptions<InfluxSinkOptions>>().Value.Token);
            Assert.Equal(signingKey, services.GetRequiredService<IOptions<WebhookOptions>>().Value.SigningKey);
            Assert.Equal(smtpPassword, services.GetRequiredService<IConfiguration>()["Alerting:Smtp:Password"]);

            // Data is stored with the token from the file, and an alert's webhook fails to connect (logged).
            var district = TestServers.UniqueName("dz");
            var alert = await ApiTestKit.RaiseDoorForcedAsync(worker, district);
            await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 2, ApiTestKit.Timeout);
            await worker.Logs.WaitForAsync(entries => entries.Any(e => e.Level >= LogLevel.Warning && e.Message.Contains(alert, StringComparison.Ordinal)), ApiTestKit.Timeout);

            using var admin = TestApiKeys.Client(worker.BaseAddress, new TestApiKeys.TestKey("sam.secret", "admin", apiKey));
            foreach (var path in new[] { "/api/pipeline", "/api/rejections", "/api/devices", "/api/devices/door-0001", "/api/profiles", "/api/alerts", $"/api/alerts/{alert}", "/api/access", "/openapi/v1.json", "/healthz" })
            {
                using var response = await admin.GetAsync(new Uri(path, UriKind.Relative));
                Assert.True(response.StatusCode is HttpStatusCode.OK, $"{path}: {response.StatusCode}");
                answers.Add(response.Headers + (await response.Content.ReadAsStringAsync()));
            }

            using (var response = await admin.PostAsync(new Uri($"/api/alerts/{alert}/acknowledge", UriKind.Relative), null))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                answers.Add(response.Headers + (await response.Content.ReadAsStringAsync()));
            }

            using var wrong = TestApiKeys.Client(worker.BaseAddress, new TestApiKeys.TestKey("x", "admin", wrongKey));
            using (var response = await wrong.GetAsync(new Uri("/api/pipeline", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                answers.Add(response.Headers + (await response.Content.ReadAsStringAsync()));
            }
        }

        // 2. Connection failures: broker and InfluxDB unreachable, secrets set inline this time.
        var failing = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        failing["Mqtt:Port"] = ApiTestKit.ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        failing["Mqtt:Password"] = mqttPassword;
        failing["Mqtt:Username"] = fromFiles["Mqtt:Username"];
        failing["Influx:Url"] = $"http://127.0.0.1:{ApiTestKit.ClosedPort()}";
        failing["Influx:Token"] = influxToken;
        failing["Alerting:Webhook:SigningKey"] = signingKey;
        failing["Alerting:Smtp:Password"] = smtpPassword;
        failing["Api:Keys:3:Name"] = "sam.secret";
        failing["Api:Keys:3:Role"] = "admin";
        failing["Api:Keys:3:Key"] = apiKey;
        failing["PipelineReport:Interval"] = "00:00:01";
        var failingLogs = new LogCapture();
        await using (var app = ApiTestKit.Build(failing, failingLogs))
        {
            await app.StartAsync();
            try
            {
                await failingLogs.WaitForAsync(
                    entries => entries.Any(e => e.Level >= LogLevel.Warning && e.Category.Contains("MqttSource", StringComparison.Ordinal))
                               && entries.Any(e => e.Level >= LogLevel.Warning && e.Category.Contains("InfluxSink", StringComparison.Ordinal)),
                    ApiTestKit.Timeout);
            }
            finally
            {
                await app.StopAsync();
            }
        }

        // 3. A configuration error listing bad settings, beside the secrets.
        var bad = new Dictionary<string, string?>(failing)
        {
            ["Mqtt:Port"] = "0",
            ["Influx:BatchSize"] = "0",
            ["Api:Keys:3:Role"] = "root",
            ["Alerting:Webhook:SigningKey"] = null,
            ["Alerting:Webhook:SigningKeyFile"] = Path.Combine(folder, "missing"),
        };
        var badLogs = new LogCapture();
        string message;
        await using (var app = ApiTestKit.Build(bad, badLogs))
        {
            var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
            message = ex.Message + Environment.NewLine + WorkerHost.DescribeConfigurationError(ConfigurationCheck.ValidateAll(app.Services));
        }

        Assert.Contains("Mqtt:Port:", message, StringComparison.Ordinal);
        Assert.Contains("Influx:BatchSize:", message, StringComparison.Ordinal);
        Assert.Contains("Api:Keys:3:Role:", message, StringComparison.Ordinal);
        Assert.Contains("Alerting:Webhook:SigningKeyFile:", message, StringComparison.Ordinal);

        var logged = string.Join(Environment.NewLine, workingLogs.Entries.Concat(failingLogs.Entries).Concat(badLogs.Entries).Select(e => $"{e.Category} {e.Message}"));
        Assert.True(workingLogs.Entries.Count > 10 && failingLogs.Entries.Count > 2, "too few log entries captured to mean anything");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logged, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, message, StringComparison.Ordinal);
            Assert.All(answers, a => Assert.DoesNotContain(secret, a, StringComparison.Ordinal));
        }
    }
}
