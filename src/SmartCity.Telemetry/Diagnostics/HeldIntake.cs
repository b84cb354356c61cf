namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// What the worker has taken in and not yet finished with: MQTT messages read and not yet acknowledged
/// (the source's receive backlog) and observations queued for the alert loop. While any are held the
/// worker itself is busy (a slow fsync, Mqtt:ReceiveMaximum reached): the broker sends nothing more until
/// it is acknowledged, so the silence that follows is the worker's, not the devices'. Kept here, in the
/// bottom layer, so the source can report into it and alerting can read it without knowing each other.
/// </summary>
public sealed class HeldIntake
{
    private readonly Lock _gate = new();
    private Func<long>[] _counts = [];

    /// <summary>Adds a count of held items (read each time <see cref="Held"/> is asked; never summed ahead).</summary>
    public void Add(Func<long> count)
    {
        ArgumentNullException.ThrowIfNull(count);
        lock (_gate)
        {
            _counts = [.. _counts, count];
        }
    }

    /// <summary>Items held right now, over every count added.</summary>
    public long Held
    {
        get
        {
            var total = 0L;
            foreach (var count in Volatile.Read(ref _counts))
            {
                total += Math.Max(0, count());
            }

            return total;
        }
    }
}
