using SmartCity.OpenData.Hosting;
using SmartCity.OperatorConsole.Hosting;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Partitioning;
using SmartCity.Worker.Backup;
using SmartCity.Worker.Configuration;
using SmartCity.Worker.Observability;
using SmartCity.Worker.Security;
using SmartCity.Worker.Talq;

namespace SmartCity.Worker;

/// <summary>The composition root: configuration, the pipeline, and the operator HTTP endpoints.</summary>
public static class WorkerHost
{
    /// <summary>Environment variables with this prefix override appsettings (<c>SMARTCITY_Mqtt__Host</c>).</summary>
    public const string EnvironmentPrefix = "SMARTCITY_";

    /// <summary>Exit code for a configuration error (sysexits' EX_CONFIG).</summary>
    public const int ConfigurationErrorExitCode = 78;

    /// <summary>
    /// Exit code after a fatal error at run time (sysexits' EX_SOFTWARE): a service faulted (the host
    /// stops on it) or the host itself failed. Non-zero so a supervisor restarting on failure
    /// (systemd Restart=on-failure, compose restart: on-failure) sees a crash, not a clean stop.
    /// </summary>
    public const int FatalErrorExitCode = 70;

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = ContentRoot(args) });
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Services.AddSmartCityPipeline(builder.Configuration);
        builder.Services.AddOperatorApiSecurity(builder.Configuration);
        builder.Services.AddOperatorApiDocument();
        builder.Services.AddWorkerHealthChecks();
        builder.Services.AddWorkerBackup(builder.Configuration);
        builder.Services.AddOperatorConsole(builder.Configuration);
        builder.Services.AddOpenData(builder.Configuration);
        builder.Services.AddTalqCms(builder.Configuration);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.WriteIndented = true);
        configure?.Invoke(builder);
        builder.Services.AddPartitions(builder.Configuration); // before the secret files: a city may name its own (Influx:TokenFile)
        // Last, so a secret file wins over every other source (and sees the settings naming files).
        var secretProblems = SecretFiles.Add(builder.Configuration);
        builder.Services.AddSingleton(new ConfigurationCheck(_ => secretProblems));
        builder.AddWorkerObservability(); // after every configuration source: it decides which exporters exist
        builder.Services.DeferDataProtectionKeyRing(); // after every registration that adds data protection

        var app = builder.Build();
        app.UseOperatorApiSecurity();
        app.MapOpenApi().AllowAnonymous().RequireRateLimiting(ApiSecurity.RateLimitPolicy);
        app.MapPipelineEndpoints();
        app.MapAlertEndpoints();
        app.MapObservabilityEndpoints();
        app.MapBackupEndpoints();
        app.MapOperatorConsole();
        app.MapLightingEndpoints();
        app.MapOpenData(ApiSecurity.RateLimitPolicy);
        app.MapTalqCmsEndpoints();
        return app;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var app = Build(args);
        await using (app.ConfigureAwait(false))
        {
            // Checked before the host starts, so an operator sees every bad setting at once, without a stack trace.
            var failures = ConfigurationCheck.ValidateAll(app.Services);
            if (failures.Count > 0)
            {
                await Console.Error.WriteLineAsync(DescribeConfigurationError(failures)).ConfigureAwait(false);
                return ConfigurationErrorExitCode;
            }

            // Taken now: RunAsync disposes the service provider when the host stops.
            var services = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            try
            {
                await app.RunAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The host failed to start or to run (a port in use, a service that threw in StartAsync):
                // one clear line and the exit code, not an unhandled-exception abort (exit 134 and a core dump).
                await Console.Error.WriteLineAsync($"SmartCity worker stopped on a fatal error: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
                return FatalErrorExitCode;
            }

            // A faulted BackgroundService stops the host (BackgroundServiceExceptionBehavior.StopHost), and
            // RunAsync then returns as after SIGTERM: only the services' tasks tell a crash from a stop.
            var faulted = services
                .Where(s => s.ExecuteTask is { IsFaulted: true })
                .Select(s => s.GetType().Name)
                .ToList();
            if (faulted.Count > 0)
            {
                await Console.Error.WriteLineAsync($"SmartCity worker stopped on a fatal error in {string.Join(", ", faulted)} (see the Critical log above)").ConfigureAwait(false);
                return FatalErrorExitCode;
            }

            return Environment.ExitCode;
        }
    }

    /// <summary>
    /// The worker's own folder, where its appsettings.json lies, wherever it is started from
    /// (<c>dotnet src/SmartCity.Worker/bin/.../SmartCity.Worker.dll</c> from the repository root would
    /// otherwise read the settings of the current directory, silently without any). An explicit
    /// <c>--contentRoot</c> or ASPNETCORE_CONTENTROOT / DOTNET_CONTENTROOT still wins.
    /// </summary>
    private static string? ContentRoot(string[] args)
    {
        var configured = args.Any(a => a.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
        return configured ? null : AppContext.BaseDirectory;
    }

    public static string DescribeConfigurationError(IEnumerable<string> failures) =>
        "SmartCity worker cannot start: invalid configuration:" + Environment.NewLine
        + string.Join(Environment.NewLine, failures.Select(f => "  - " + f)) + Environment.NewLine
        + "Settings come from appsettings.json, environment variables (Mqtt:Host is SMARTCITY_Mqtt__Host) "
        + "or secret files (SMARTCITY_SECRETS_DIR, or <Setting>File such as Mqtt:PasswordFile).";
}
