using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Lighting;

/// <summary>A lamp a command goes to, with the state it is sent.</summary>
public sealed record PlannedLamp(DeviceRecord Device, bool On, double DimPct);

/// <summary>
/// Which lamps a request reaches: the target resolved through the device registry (a cabinet
/// through the lamps' <c>parent</c>), each lamp checked against its profile's <c>commands</c>.
/// Pure: the service gives it the devices and the parents it knows.
/// </summary>
public static class CommandPlanner
{
    public const int MaxReasonLength = 256;

    /// <summary>The longest duration of an operator's level: a day (longer is a schedule's job).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    /// <summary>What is wrong with the request itself, or null.</summary>
    public static string? Invalid(CommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Target))
        {
            return "target is required";
        }

        if (request.On is null && request.DimPct is null)
        {
            return "say what to do: \"on\": true/false, or \"dimPct\": 0..100";
        }

        if (request.DimPct is { } d && (double.IsNaN(d) || d < 0 || d > 100))
        {
            return $"dimPct must be between 0 and 100, was {d}";
        }

        if (request.For is { } lasts && (lasts <= TimeSpan.Zero || lasts > MaxDuration))
        {
            return $"a duration must be above 0 and at most {MaxDuration}, was {lasts}";
        }

        if (request is { On: false, DimPct: > 0 })
        {
            return "\"on\": false with a dim level above 0 contradicts itself";
        }

        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > MaxReasonLength)
        {
            return $"reason is required (why the lamps are commanded), at most {MaxReasonLength} characters";
        }

        return null;
    }

    /// <summary>The lamps of the target (null with a refusal when the target is unknown), and those skipped.</summary>
    public static (IReadOnlyList<PlannedLamp> Lamps, IReadOnlyList<SkippedLamp> Skipped, CommandRefusal? Refusal) Plan(
        CommandRequest request, IReadOnlyCollection<DeviceRecord> devices, IReadOnlyDictionary<string, string> parents, ProfileSet profiles)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(parents);
        ArgumentNullException.ThrowIfNull(profiles);
        var targets = devices.Where(d => Matches(request, d, parents)).ToList();
        if (targets.Count == 0)
        {
            return ([], [], Unknown(request, devices));
        }

        var lamps = new List<PlannedLamp>();
        var skipped = new List<SkippedLamp>();
        var (on, dim) = request.Desired;
        foreach (var device in targets)
        {
            var commands = profiles.Find(device.Profile)?.Commands ?? [];
            var switchOnly = request.SwitchWhereNoDim && !commands.Contains(request.Capability, StringComparer.Ordinal) && commands.Contains(LampCapabilities.Switch, StringComparer.Ordinal);
            if (!commands.Contains(request.Capability, StringComparer.Ordinal) && !switchOnly)
            {
                skipped.Add(new SkippedLamp(device.DeviceId, $"profile '{device.Profile}' does not support '{request.Capability}' (commands: {(commands.Count == 0 ? "none" : string.Join(", ", commands))})"));
            }
            else if (!device.Online)
            {
                // Sent the current level when it is born again, instead of a command it cannot receive now.
                skipped.Add(new SkippedLamp(device.DeviceId, "offline: it is sent its level when it comes back online"));
            }
            else
            {
                // A switch-only lamp under a schedule's dim step: on at full (it cannot do less), or off.
                lamps.Add(new PlannedLamp(device, on, switchOnly ? (on ? 100 : 0) : dim));
            }
        }

        return (lamps, skipped, null);
    }

    private static bool Matches(CommandRequest request, DeviceRecord device, IReadOnlyDictionary<string, string> parents) => request.TargetKind switch
    {
        TargetKind.Lamp => device.DeviceId == request.Target,
        TargetKind.Site => device.Site == request.Target,
        TargetKind.District => device.District == request.Target,
        TargetKind.Cabinet => parents.TryGetValue(device.DeviceId, out var parent) && parent == request.Target,
        _ => false,
    };

    private static CommandRefusal Unknown(CommandRequest request, IReadOnlyCollection<DeviceRecord> devices)
    {
        var what = request.TargetKind.ToString().ToLowerInvariant();
        if (request.TargetKind == TargetKind.Cabinet && devices.Any(d => d.DeviceId == request.Target))
        {
            return new CommandRefusal("cabinet feeds no known lamp", $"no lamp names '{request.Target}' as its parent in its birth message", true);
        }

        return new CommandRefusal($"unknown {what}", $"no {what} '{request.Target}' in the device registry (a device is known once it has sent its birth message)", true);
    }
}
