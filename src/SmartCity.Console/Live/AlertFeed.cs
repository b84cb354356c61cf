using System.Collections.Concurrent;
using System.Threading.Channels;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Notifiers;

namespace SmartCity.OperatorConsole.Live;

/// <summary>What a console page learns of a transition: enough to refresh itself and to notify a critical raise.</summary>
public sealed record AlertChange(string Id, string Kind, string State, string Severity, string Rule, string DeviceId, string District);

/// <summary>
/// The console's alert notifier: each transition goes to every open page's event stream (server-sent
/// events). Behind its own queue like the other notifiers, so a slow browser never holds back the
/// engine; each page has a small queue of its own and loses the oldest changes when it cannot keep up
/// (it then refreshes from the full list anyway).
/// </summary>
public sealed class AlertFeed : IAlertNotifier
{
    private const int PerPageCapacity = 256;
    private readonly ConcurrentDictionary<Channel<AlertChange>, byte> _pages = new();

    /// <summary>Pages listening now.</summary>
    public int Listeners => _pages.Count;

    public ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);
        var a = transition.Alert;
        var change = new AlertChange(
            a.Id,
            Lower(transition.Kind.ToString()),
            Lower(a.State.ToString()),
            Lower(a.Severity.ToString()),
            a.Rule,
            a.DeviceId,
            a.District);
        foreach (var page in _pages.Keys)
        {
            page.Writer.TryWrite(change);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Registers a page now (so no change after this call is missed, whatever happens before the page
    /// reads); its changes until the subscription is disposed.
    /// </summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<AlertChange>(new BoundedChannelOptions(PerPageCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _pages.TryAdd(channel, 0);
        return new Subscription(this, channel);
    }

    public sealed class Subscription(AlertFeed feed, Channel<AlertChange> channel) : IDisposable
    {
        /// <summary>The changes, until <paramref name="cancellationToken"/> (the page went away).</summary>
        public async IAsyncEnumerable<AlertChange> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            while (await WaitAsync(channel, cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var change))
                {
                    yield return change;
                }
            }
        }

        public void Dispose() => feed._pages.TryRemove(channel, out _);
    }

    // A page that went away ends its stream quietly: not an error to log.
    private static async Task<bool> WaitAsync(Channel<AlertChange> channel, CancellationToken cancellationToken)
    {
        try
        {
            return await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static string Lower(string value) => value.Length == 0 ? value : char.ToLowerInvariant(value[0]) + value[1..];
}
