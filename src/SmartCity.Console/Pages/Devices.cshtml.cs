using Microsoft.AspNetCore.Mvc.RazorPages;
using SmartCity.OperatorConsole.Security;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>The registry's devices (online, offline) and the quarantined ones with what they sent (the dead letters).</summary>
public sealed class DevicesModel(DeviceRegistry registry, DeadLetters deadLetters) : PageModel
{
    public IReadOnlyList<DeviceRecord> Online { get; private set; } = [];

    public IReadOnlyList<DeviceRecord> Offline { get; private set; } = [];

    public IReadOnlyList<QuarantinedDevice> Quarantined { get; private set; } = [];

    /// <summary>The latest rejections, newest first: a quarantined device's own messages among them.</summary>
    public IReadOnlyList<Rejection> Rejections { get; private set; } = [];

    public void OnGet()
    {
        var scope = ConsoleAuth.Scope(HttpContext);
        var devices = registry.Devices.Where(scope.Sees).ToList();
        Online = [.. devices.Where(d => d.Online)];
        Offline = [.. devices.Where(d => !d.Online).OrderByDescending(d => d.LastSeen)];
        Quarantined = [.. registry.Quarantined.Where(scope.Sees)];
        Rejections = [.. deadLetters.Recent().Where(scope.Sees).OrderByDescending(r => r.ReceivedAt).Take(50)];
    }
}
