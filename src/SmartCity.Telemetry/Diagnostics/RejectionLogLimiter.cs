using System.Collections.Concurrent;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// One log line per rejection reason per interval: a flood of bad messages must not flood the log
/// (the counters and dead letters still see every one of them).
/// </summary>
public sealed class RejectionLogLimiter<TReason>(TimeProvider time, TimeSpan interval)
    where TReason : notnull
{
    private readonly ConcurrentDictionary<TReason, State> _states = new();

    public bool ShouldLog(TReason reason, out long suppressed)
    {
        var now = time.GetTimestamp();
        var state = _states.GetOrAdd(reason, _ => new State());
        lock (state)
        {
            if (state.LastLogged != 0 && time.GetElapsedTime(state.LastLogged, now) < interval)
            {
                state.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = state.Suppressed;
            state.Suppressed = 0;
            state.LastLogged = now;
            return true;
        }
    }

    private sealed class State
    {
        public long LastLogged;
        public long Suppressed;
    }
}
