namespace SmartCity.Telemetry.Alerting.Notifiers;

/// <summary>A notifier that threw while being handed a transition; the host logs it (one broken notifier must not stop the others).</summary>
public sealed record AlertDispatchFailure(IAlertNotifier Notifier, AlertTransition Transition, Exception Exception);

/// <summary>Every registered notifier, handed each transition in order. The engine does not know them.</summary>
public sealed class AlertNotifiers(IEnumerable<IAlertNotifier> notifiers)
{
    private readonly IReadOnlyList<IAlertNotifier> _notifiers = [.. notifiers];

    /// <summary>Hands transitions to every notifier, in order. One that throws is reported, not fatal to the others.</summary>
    public async ValueTask<IReadOnlyList<AlertDispatchFailure>> DispatchAsync(IReadOnlyList<AlertTransition> transitions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        var failures = new List<AlertDispatchFailure>();
        foreach (var t in transitions)
        {
            foreach (var sink in _notifiers)
            {
                try
                {
                    await sink.OnTransitionAsync(t, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Add(new AlertDispatchFailure(sink, t, ex));
                }
            }
        }

        return failures;
    }
}
