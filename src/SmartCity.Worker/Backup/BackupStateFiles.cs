using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.Telemetry.Lighting;
using SmartCity.Worker.Talq;

namespace SmartCity.Worker.Backup;

/// <summary>
/// The state files a restored worker needs beside its registry and alert state: the console accounts
/// (people's logins, roles and city scopes), the TALQ CMS's memory (which gateway owns which lamp) and the
/// lighting state (levels, pending commands, schedule steps, energy totals). Each is written whole by its
/// store (temporary file renamed over), so the file read is one the store wrote; the TALQ store is saved
/// first, because it writes its last values only every few seconds.
/// </summary>
internal static class BackupStateFiles
{
    public const string ConsoleUsers = "console-users.json";
    public const string TalqCms = "talq-cms.json";
    public const string Lighting = "lighting.json";

    public static async Task AddAsync(List<(string Name, string Source, byte[] Content)> files, IServiceProvider services, CancellationToken cancellationToken)
    {
        var talq = services.GetService<TalqDeviceStore>();
        talq?.SaveIfChanged();
        // The energy totals in the lighting file are at most LightingService's energy save interval (1 min) old.
        var sources = new (string Name, string? Path)[]
        {
            (ConsoleUsers, services.GetService<AccountStore>()?.File),
            (TalqCms, talq?.Path),
            (Lighting, services.GetService<IOptions<LightingOptions>>()?.Value.StateFile),
        };
        foreach (var (name, path) in sources)
        {
            // A store that has never saved (no account made, no TALQ gateway, no lighting yet) has no file: nothing to keep.
            if (path is { Length: > 0 } && File.Exists(path))
            {
                files.Add((name, Path.GetFullPath(path), await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
            }
        }
    }
}
