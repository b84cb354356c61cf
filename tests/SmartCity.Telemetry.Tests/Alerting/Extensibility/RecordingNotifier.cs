using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Notifiers;

namespace SmartCity.Telemetry.Tests.Alerting.Extensibility;

/// <summary>
/// A notifier the worker does not ship, written the way a new one is: one class implementing
/// <see cref="IAlertNotifier"/>, registered with one line (<c>services.AddAlertNotifier&lt;RecordingNotifier&gt;()</c>).
/// It records what it is handed and lets a test wait for a transition.
/// </summary>
public sealed class RecordingNotifier : IAlertNotifier
{
    private readonly Lock _gate = new();
    private readonly List<AlertTransition> _received = [];
    private readonly List<(Func<AlertTransition, bool> Match, TaskCompletionSource<AlertTransition> Done)> _waiting = [];

    public ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _received.Add(transition);
            foreach (var w in _waiting.Where(w => w.Match(transition)).ToList())
            {
                w.Done.TrySetResult(transition);
                _waiting.Remove(w);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The first transition (received already or later) that matches.</summary>
    public Task<AlertTransition> WaitForAsync(Func<AlertTransition, bool> match)
    {
        lock (_gate)
        {
            if (_received.FirstOrDefault(match) is { } seen)
            {
                return Task.FromResult(seen);
            }

            var done = new TaskCompletionSource<AlertTransition>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((match, done));
            return done.Task;
        }
    }
}
