using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Backup;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker.Security;

namespace SmartCity.Worker.Backup;

/// <summary>
/// <c>GET /api/admin/backup</c> (admin): the worker's state as one archive (<see cref="BackupArchive"/>), taken
/// while it runs. Each store is saved and read under its own save lock (the registry, the alert state), so
/// each file is whole and current; the configuration files (rules, profiles, device accounts) are read as
/// they are. The spool is not included: it is data in transit, stored by the running worker.
/// </summary>
public static class BackupEndpoints
{
    public static IServiceCollection AddWorkerBackup(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BackupOptions>().Bind(configuration.GetSection(BackupOptions.SectionName));
        services.AddSingleton<IValidateOptions<BackupOptions>>(new SectionValidator<BackupOptions>(BackupOptions.SectionName));
        services.AddSingleton(ConfigurationCheck.For<BackupOptions>());
        return services;
    }

    public static void MapBackupEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/admin/backup", (HttpContext http, CancellationToken cancellationToken) => BackupAsync(http.RequestServices, cancellationToken))
            .RequireAuthorization(ApiRoles.Admin)
            .RequireRateLimiting(ApiSecurity.RateLimitPolicy)
            .WithTags("admin")
            .WithSummary("Backup of the worker's state, taken while it runs")
            .WithDescription("A zip: manifest.json (source path, size, SHA-256 of each file), registry.json, alerts.json, alerts.devices.json, "
                + "rules/ (Alerting:RulesFile), profiles/ (Profiles:Directory), accounts/ (Backup:DeviceAccountFiles), console-users.json, talq-cms.json, lighting.json. "
                + "smartcity-backup create|verify|restore uses it.")
            .Produces(StatusCodes.Status200OK, contentType: "application/zip");

    private static async Task<IResult> BackupAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var files = new List<(string Name, string Source, byte[] Content)>();
        var registry = services.GetRequiredService<DeviceRegistry>();
        if (registry.SaveAndRead() is { } devices)
        {
            files.Add(("registry.json", registry.FilePath, devices));
        }

        foreach (var (path, content) in await services.GetRequiredService<AlertingService>().SaveAndReadStateAsync(cancellationToken).ConfigureAwait(false))
        {
            // Alerting:StateFile and its ".devices" twin (AlertStore.DevicesPath), under fixed names.
            files.Add((Path.GetFileNameWithoutExtension(path).EndsWith(".devices", StringComparison.Ordinal) ? "alerts.devices.json" : "alerts.json", path, content));
        }

        if (services.GetRequiredService<IOptions<AlertingOptions>>().Value.RulesFile is { Length: > 0 } rules)
        {
            files.Add(("rules/" + Path.GetFileName(rules), Path.GetFullPath(rules), await File.ReadAllBytesAsync(rules, cancellationToken).ConfigureAwait(false)));
        }

        if (services.GetRequiredService<IOptions<ProfilesOptions>>().Value.Directory is { Length: > 0 } profiles && Directory.Exists(profiles))
        {
            foreach (var file in Directory.EnumerateFiles(profiles, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(profiles, file).Replace(Path.DirectorySeparatorChar, '/');
                files.Add(("profiles/" + relative, Path.GetFullPath(file), await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false)));
            }
        }

        foreach (var account in services.GetRequiredService<IOptions<BackupOptions>>().Value.DeviceAccountFiles)
        {
            files.Add(("accounts/" + Path.GetFileName(account), Path.GetFullPath(account), await File.ReadAllBytesAsync(account, cancellationToken).ConfigureAwait(false)));
        }

        await BackupStateFiles.AddAsync(files, services, cancellationToken).ConfigureAwait(false);
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        using var archive = new MemoryStream();
        BackupArchive.Write(archive, files, now);
        return Results.File(archive.ToArray(), "application/zip", $"smartcity-backup-{now:yyyyMMdd'T'HHmmss'Z'}.zip");
    }
}
