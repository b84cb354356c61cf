using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Ingest;

/// <summary>Says at start which profiles are in force and, loudly, which files were refused and why.</summary>
internal sealed partial class ProfileReport(ProfileSet profiles, MessageDecoder decoder, ILogger<ProfileReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var names = string.Join(", ", profiles.Profiles.Select(p => $"{p.Id} {p.Version}"));
        LogLoaded(profiles.Profiles.Count, names);
        foreach (var error in profiles.Errors)
        {
            var problems = error.ToString();
            LogRefused(error.Source, problems);
        }

        foreach (var problem in decoder.Problems)
        {
            LogRefused("plug-in", problem);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "{Count} device profiles in force: {Profiles}")]
    private partial void LogLoaded(int count, string profiles);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Device profile {Source} refused; the other profiles keep working:\n{Problems}")]
    private partial void LogRefused(string source, string problems);
}
