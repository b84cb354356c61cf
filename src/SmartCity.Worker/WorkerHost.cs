using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker.Configuration;
using SmartCity.Worker.Security;

namespace SmartCity.Worker;

/// <summary>The composition root: configuration, the pipeline, and the operator HTTP endpoints.</summary>
public static class WorkerHost
{
    /// <summary>Environment variables with this prefix override appsettings (<c>SMARTCITY_Mqtt__Host</c>).</summary>
    public const string EnvironmentPrefix = "SMARTCITY_";

    /// <summary>Exit code for a configuration error (sysexits' EX_CONFIG).</summary>
    public const int ConfigurationErrorExitCode = 78;

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Services.AddSmartCityPipeline(builder.Configuration);
        builder.Services.AddOperatorApiSecurity(builder.Configuration);
        builder.Services.AddOperatorApiDocument();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.WriteIndented = true);
        configure?.Invoke(builder);
        // Last, so a secret file wins over every other source (and sees the settings naming files).
        var secretProblems = SecretFiles.Add(builder.Configuration);
        builder.Services.AddSingleton(new ConfigurationCheck(_ => secretProblems));

        var app = builder.Build();
        app.UseOperatorApiSecurity();
        app.MapOpenApi().AllowAnonymous().RequireRateLimiting(ApiSecurity.RateLimitPolicy);
        app.MapPipelineEndpoints();
        app.MapAlertEndpoints();
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

            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
    }

    public static string DescribeConfigurationError(IEnumerable<string> failures) =>
        "SmartCity worker cannot start: invalid configuration:" + Environment.NewLine
        + string.Join(Environment.NewLine, failures.Select(f => "  - " + f)) + Environment.NewLine
        + "Settings come from appsettings.json, environment variables (Mqtt:Host is SMARTCITY_Mqtt__Host) "
        + "or secret files (SMARTCITY_SECRETS_DIR, or <Setting>File such as Mqtt:PasswordFile).";
}
