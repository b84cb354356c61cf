namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The biggest of the last few sizes recorded: what a buffer kept between uses is sized by, so that one short
/// use does not shrink it at a steady rate and a burst's size is let go once the rate is paced again.
/// Not thread-safe: its holder records and reads under its own lock, or from one task.
/// </summary>
internal sealed class RecentPeak(int count)
{
    private readonly int[] _sizes = new int[count];
    private int _next;

    public void Record(int size)
    {
        _sizes[_next] = size;
        _next = (_next + 1) % _sizes.Length;
    }

    /// <summary>The biggest of the last sizes recorded (0 before any).</summary>
    public int Max => _sizes.Max();
}
