namespace SmartCity.Telemetry.Source;

/// <summary>
/// Decides when a subscription has gone quiet against the traffic it had: no message for
/// <c>quietTimeout</c> after at least one message since the last check-in. A city that is genuinely
/// silent (no traffic at all since the last trigger) does not make it fire again and again.
/// </summary>
/// <param name="held">
/// Messages read and not yet acknowledged (the receive backlog). While any are held the worker itself is
/// busy or has paused reading at its bound (a slow fsync), so the silence is ours, not a lost subscription:
/// reconnecting then would only throw away the held window and have the broker send it again.
/// </param>
public sealed class SubscriptionWatchdog(TimeProvider time, TimeSpan quietTimeout, Func<long>? held = null)
{
    private long _lastMessage;
    private int _trafficSeen;

    /// <summary>How often the source asks: a quarter of the timeout, so a stall is noticed within 1.25x of it.</summary>
    public TimeSpan CheckInterval => quietTimeout > TimeSpan.Zero ? quietTimeout / 4 : TimeSpan.FromMinutes(1);

    public void MessageReceived()
    {
        Volatile.Write(ref _lastMessage, time.GetTimestamp());
        Volatile.Write(ref _trafficSeen, 1);
    }

    /// <summary>True once per stall; the next stall needs traffic in between.</summary>
    public bool IsQuiet(out TimeSpan quietFor)
    {
        if (held?.Invoke() > 0)
        {
            MessageReceived();
        }

        quietFor = Volatile.Read(ref _trafficSeen) == 1 ? time.GetElapsedTime(Volatile.Read(ref _lastMessage)) : TimeSpan.Zero;
        if (quietTimeout <= TimeSpan.Zero || quietFor < quietTimeout)
        {
            return false;
        }

        return Interlocked.Exchange(ref _trafficSeen, 0) == 1;
    }
}
