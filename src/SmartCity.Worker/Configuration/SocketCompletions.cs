namespace SmartCity.Worker.Configuration;

/// <summary>
/// Socket completions run on the runtime's socket threads (the epoll loops) instead of being handed to the
/// thread pool. At a city's paced rates each MQTT message that arrives to an idle reader used to cost three
/// thread wake-ups: the epoll thread, a pool thread for the read's continuation, and one more pool thread that
/// the first asks for whenever it takes an item (the pool's own rule). Inline, the socket thread that saw the
/// data runs the receive loop and the ingest stage itself, up to the next read that has to wait.
/// Measured on the worker at 2,000 paced msg/s (docs/performance.md, "socket completions inline"): context
/// switches 2.8 -> 1.0 and futex calls 3.5 -> 1.1 per message.
/// </summary>
/// <remarks>
/// The runtime reads only the environment variable <see cref="Variable"/>, once, when the first socket is
/// created (no runtimeconfig knob): it is set here, before the host opens any socket. An operator's own value
/// wins: <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> turns it off without a rebuild. Safe for this
/// worker because nothing it runs waits synchronously on a socket (a continuation that did would hold the
/// socket thread): Kestrel still dispatches request handlers to the pool, the spool's fsyncs run on the spool
/// writer's own continuations (its queue never completes a waiter inline), and the MQTT handler only awaits.
/// </remarks>
public static class SocketCompletions
{
    /// <summary>The runtime's switch (System.Net.Sockets, Unix): "1" runs completions on the socket threads.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Sets <see cref="Variable"/> to "1" unless the environment already has a value; true when it is "1".</summary>
    public static bool PreferInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }

        return Environment.GetEnvironmentVariable(Variable) == "1";
    }
}
