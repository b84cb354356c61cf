using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests;

/// <summary>A bad or missing setting stops start-up with a message naming it, before anything connects.</summary>
public sealed class StartupTests
{
    private static Dictionary<string, string?> ValidSettings() => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Mqtt:Host"] = "127.0.0.1",
        ["Influx:Url"] = "http://127.0.0.1:1",
        ["Influx:Token"] = "token",
        ["Influx:Org"] = "smartcity",
        ["Influx:Bucket"] = "smartcity",
    };

    [Theory]
    [InlineData("Mqtt:Host", null, "Mqtt:Host: is required")]
    [InlineData("Influx:Url", null, "Influx:Url: is required")]
    [InlineData("Influx:Token", null, "Influx:Token: is required")]
    [InlineData("Influx:Url", "localhost:8086", "Influx:Url: must be an absolute")]
    [InlineData("Mqtt:Port", "0", "Mqtt:Port:")]
    [InlineData("Mqtt:ReceiveMaximum", "70000", "Mqtt:ReceiveMaximum:")]
    [InlineData("Influx:BatchSize", "0", "Influx:BatchSize:")]
    [InlineData("Decoding:TopicRoot", "city/#", "Decoding:TopicRoot:")]
    [InlineData("Decoding:MaxPayloadBytes", "100", "Decoding:MaxPayloadBytes:")]
    [InlineData("Alerting:Smtp:Host", "smtp.city.test", "Alerting:Smtp:To: needs at least one recipient")]
    [InlineData("Influx:Token", "change-me-influxdb-admin-token", "Influx:Token: is a placeholder")]
    [InlineData("Mqtt:Password", "changeme", "Mqtt:Password: is a placeholder")]
    [InlineData("Api:Keys:0:Key", "change-me-operator-api-key", "Api:Keys:0:Key: is a placeholder")]
    [InlineData("Alerting:Webhook:SigningKey", "<signing-key>", "Alerting:Webhook:SigningKey: is a placeholder")]
    [InlineData("Lighting:ConfirmTimeout", "00:00:00", "Lighting:ConfirmTimeout:")]
    [InlineData("Lighting:Currency", "euro", "Lighting:Currency:")]
    public async Task Start_BadOrMissingSetting_FailsNamingIt(string key, string? value, string expected)
    {
        var settings = ValidSettings();
        settings[key] = value;
        await using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(ex.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
        Assert.Equal(ex.Failures, ConfigurationCheck.ValidateAll(app.Services));
    }

    [Fact]
    public async Task WorkerProcess_MissingSettings_ExitsWithConfigErrorNamingEach()
    {
        var worker = Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll");
        Assert.True(File.Exists(worker), $"{worker} not built");
        var start = new ProcessStartInfo("dotnet", [worker])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SMARTCITY_", StringComparison.Ordinal) || k.StartsWith("Mqtt__", StringComparison.Ordinal) || k.StartsWith("Influx__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["SMARTCITY_Urls"] = "http://127.0.0.1:0";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var message = await stderr;
        Assert.True(WorkerHost.ConfigurationErrorExitCode == process.ExitCode, $"exit code {process.ExitCode}; stderr: {message} stdout: {await stdout}");
        Assert.Contains("Mqtt:Host: is required", message, StringComparison.Ordinal);
        Assert.Contains("Influx:Url: is required", message, StringComparison.Ordinal);
        Assert.Contains("Influx:Token: is required", message, StringComparison.Ordinal);
        Assert.Contains("SMARTCITY_Mqtt__Host", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerProcess_SecretsOfTheComposeExample_ExitsWithConfigErrorNamingEach()
    {
        // What docker-compose.yml hands the worker when .env is a copy of .env.example.
        var placeholders = new Dictionary<string, string>
        {
            ["Mqtt:Password"] = "change-me-worker-mqtt-password",
            ["Influx:Token"] = "change-me-influxdb-admin-token",
            ["Api:Keys:0:Key"] = "change-me-operator-api-key",
            ["Api:Keys:1:Key"] = "change-me-viewer-api-key",
            ["Alerting:Smtp:Password"] = "change-me-smtp-password",
        };
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Mqtt:Host"] = "127.0.0.1",
            ["Mqtt:Username"] = "smartcity-worker",
            ["Influx:Url"] = "http://127.0.0.1:1",
            ["Api:Keys:0:Name"] = "operator",
            ["Api:Keys:0:Role"] = "operator",
            ["Api:Keys:1:Name"] = "viewer",
            ["Api:Keys:1:Role"] = "viewer",
            ["Alerting:Smtp:Host"] = "smtp.city.test",
            ["Alerting:Smtp:Username"] = "alerts",
            ["Alerting:Smtp:From"] = "alerts@city.test",
            ["Alerting:Smtp:To:0"] = "ops@city.test",
        };
        foreach (var (key, value) in placeholders)
        {
            settings[key] = value;
        }

        var result = await ProcessRunner.RunAsync(
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll")],
            AppContext.BaseDirectory,
            settings.ToDictionary(kv => "SMARTCITY_" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value));

        Assert.True(WorkerHost.ConfigurationErrorExitCode == result.Exit, $"exit code {result.Exit}; output: {result.Output}");
        foreach (var (key, value) in placeholders)
        {
            Assert.Contains(key + ": is a placeholder", result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(value, result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WorkerProcess_SettingOfWrongType_ExitsNamingIt()
    {
        var worker = Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll");
        var start = new ProcessStartInfo("dotnet", [worker]) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment["SMARTCITY_Urls"] = "http://127.0.0.1:0";
        start.Environment["SMARTCITY_Mqtt__Host"] = "127.0.0.1";
        start.Environment["SMARTCITY_Mqtt__Port"] = "eighteen-eighty-three";
        start.Environment["SMARTCITY_Influx__Url"] = "http://127.0.0.1:1";
        start.Environment["SMARTCITY_Influx__Token"] = "t";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var message = await stderr;
        Assert.Equal(WorkerHost.ConfigurationErrorExitCode, process.ExitCode);
        Assert.Contains("'eighteen-eighty-three' at 'Mqtt:Port'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerProcess_StartedFromAnotherFolder_ReadsItsOwnAppsettings()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", clientId);
        // Required, and given only by the worker's appsettings.json ("smartcity"; InfluxDB 1.x ignores it).
        settings.Remove("Influx:Org");
        var elsewhere = Directory.CreateTempSubdirectory("smartcity-cwd-");
        try
        {
            // As `dotnet src/SmartCity.Worker/bin/Release/net10.0/SmartCity.Worker.dll` from the repository root.
            await using var worker = WorkerProcess.Launch(settings, elsewhere.FullName);
            try
            {
                await worker.WaitForAsync(s => s.GetProperty("sourceConnected").GetBoolean(), TimeSpan.FromSeconds(90));
            }
            catch (InvalidOperationException e)
            {
                Assert.Fail($"{e.Message}; output:{Environment.NewLine}{worker.Output}");
            }
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task WorkerProcess_ServiceFaults_ExitsNonZero()
    {
        // A real answer InfluxDB.Client cannot parse: an RFC 9110 HTTP-date Retry-After makes its
        // exception factory throw FormatException, a bug (WriteErrorClass.Fatal) the sink must not spin on.
        await using var influx = new RawHttpEndpoint(RawHttpEndpoint.Response(503, "Service Unavailable", "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT"));
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", clientId);
        settings["Influx:Url"] = influx.Url.ToString();
        // Its own counters reach the sink within a second, with no device needed.
        settings["PipelineReport:Interval"] = "00:00:01";

        await using var worker = WorkerProcess.Launch(settings);
        var exitCode = await worker.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exitCode == WorkerHost.FatalErrorExitCode, $"exit code {exitCode}; output:{Environment.NewLine}{worker.Output}");
        // The endpoint also answers the start's bucket check (SHOW DATABASES, POST /query), and a loaded machine lets a
        // second pipeline report start its write before the first one's answer is read: so the writes are counted,
        // one per write in flight at most (Influx:MaxWritesInFlight, 2), and none is retried (a retry resends its body).
        var writes = influx.Received.Where(r => r.Line.Contains("/write", StringComparison.Ordinal)).ToList();
        var requests = string.Join(Environment.NewLine, influx.Received.Select(r => r.Line));
        Assert.True(writes.Count is >= 1 and <= 2, $"{writes.Count} writes; requests:{Environment.NewLine}{requests}");
        Assert.True(writes.Select(w => w.Body).Distinct(StringComparer.Ordinal).Count() == writes.Count, $"a write was retried; requests:{Environment.NewLine}{requests}");
        Assert.All(influx.Received.Except(writes), r => Assert.StartsWith("POST /query", r.Line, StringComparison.Ordinal));
        Assert.Contains("Storage stopped on an internal error (FormatException", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerProcess_HostFailsToStart_ExitsWithFatalCodeNotAnAbort()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        // A file where the spool's folder should be: the spool cannot open, so the host cannot start.
        var notAFolder = Path.GetTempFileName();
        settings["Spool:Directory"] = notAFolder;
        try
        {
            await using var worker = WorkerProcess.Launch(settings);
            var exitCode = await worker.WaitForExitAsync(TimeSpan.FromSeconds(120));

            // Not 134 (an unhandled exception aborts the runtime and may dump core).
            Assert.True(exitCode == WorkerHost.FatalErrorExitCode, $"exit code {exitCode}; output:{Environment.NewLine}{worker.Output}");
            Assert.Contains("SmartCity worker stopped on a fatal error: IOException", worker.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notAFolder);
        }
    }
}
