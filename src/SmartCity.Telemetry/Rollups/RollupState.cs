using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Rollups;

/// <summary>
/// Per cadence, where the next window starts (the end of the last one written). Saved after every
/// window, by a write to a temporary file and a rename, so a crash leaves the old or the new state,
/// never half of one. A crash between a window's write and the save computes that window again,
/// which writes the same points again: nothing is skipped, nothing counted twice.
/// </summary>
internal sealed class RollupState
{
    private readonly string _file;
    private readonly Dictionary<RollupCadence, DateTimeOffset> _next;

    private RollupState(string file, Dictionary<RollupCadence, DateTimeOffset> next)
    {
        _file = file;
        _next = next;
    }

    public static RollupState Load(string file)
    {
        var next = new Dictionary<RollupCadence, DateTimeOffset>();
        if (File.Exists(file))
        {
            var saved = JsonSerializer.Deserialize<Dictionary<RollupCadence, DateTimeOffset>>(File.ReadAllText(file));
            foreach (var (cadence, at) in saved ?? [])
            {
                next[cadence] = at;
            }
        }

        return new RollupState(file, next);
    }

    /// <summary>The start of the next window to compute, or null before the first one.</summary>
    public DateTimeOffset? NextStart(RollupCadence cadence) => _next.TryGetValue(cadence, out var at) ? at : null;

    public void Done(RollupCadence cadence, RollupWindow window) => Begin(cadence, window.End);

    /// <summary>The next window of <paramref name="cadence"/> starts at <paramref name="start"/>; saved at once.</summary>
    public void Begin(RollupCadence cadence, DateTimeOffset start)
    {
        _next[cadence] = start;
        StateFile.Replace(_file, stream => JsonSerializer.Serialize(stream, _next));
    }
}
