using MQTTnet.Protocol;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Simulators.Scenarios;

public enum ConnectionMode
{
    /// <summary>A few shared connections (default; scales to 100,000 devices).</summary>
    Gateway,

    /// <summary>One connection per device with a real last will (small fleets).</summary>
    Device,
}

/// <summary>How to play a scenario; every field has a `smartcity-sim scenario` flag.</summary>
public sealed record ScenarioRunOptions
{
    public BrokerEndpoint Broker { get; init; } = new("127.0.0.1", 1883);

    public string ClientIdPrefix { get; init; } = "smartcity-sim";

    public ConnectionMode Connections { get; init; } = ConnectionMode.Gateway;

    /// <summary>MQTT connections in gateway mode.</summary>
    public int Gateways { get; init; } = 4;

    /// <summary>QoS 1 publishes awaiting PUBACK per connection.</summary>
    public int InFlight { get; init; } = 200;

    public MqttQualityOfServiceLevel Qos { get; init; } = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>Load mode: publish as fast as the broker takes it, ignoring the scenario's pacing.</summary>
    public bool Load { get; init; }

    /// <summary>Keep going after the scenario's duration: catch up to now, then at real time (demo).</summary>
    public bool Live { get; init; }

    /// <summary>Stop after this many messages; 0 = no limit.</summary>
    public long MaxMessages { get; init; }

    /// <summary>Stop after this much wall-clock time; zero = no limit.</summary>
    public TimeSpan MaxDuration { get; init; }

    /// <summary>Stop generating, wait for what is in flight, and no longer than this.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>A moment of a run, for the progress line and the final report.</summary>
public sealed record ScenarioProgress(long Sent, long Acknowledged, long Failed, long Malformed, DateTimeOffset SimTime, TimeSpan Elapsed, double CurrentRate)
{
    public double AverageRate => Elapsed > TimeSpan.Zero ? Acknowledged / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Plays a scenario: generates its stream and hands each message to a transport when it is due.
/// Paced: simulated time runs at <see cref="Scenario.Acceleration"/> times the wall clock from the
/// scenario start, and never ahead of the wall clock itself (so device timestamps are never in the
/// future, except under a clock-skew fault). Load mode: no waiting at all.
/// </summary>
public static class ScenarioRunner
{
    public static async Task<ScenarioProgress> RunAsync(
        Scenario scenario,
        ScenarioRunOptions options,
        IScenarioTransport transport,
        RunCounters counters,
        TimeProvider time,
        IProgress<ScenarioProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var start = scenario.ResolveStart(now);
        var end = options.Live ? (DateTimeOffset?)null : start + scenario.Duration;
        using var generator = new CityGenerator(scenario, start, end);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.MaxDuration > TimeSpan.Zero)
        {
            limit.CancelAfter(options.MaxDuration);
        }

        var wallStart = time.GetTimestamp();
        TimeSpan Elapsed() => time.GetElapsedTime(wallStart);
        long lastAcked = 0;
        var lastTick = TimeSpan.Zero;
        ScenarioProgress Snapshot()
        {
            var elapsed = Elapsed();
            var acked = counters.Acknowledged;
            var window = (elapsed - lastTick).TotalSeconds;
            var rate = window > 0 ? (acked - lastAcked) / window : 0;
            lastAcked = acked;
            lastTick = elapsed;
            return new ScenarioProgress(counters.Sent, acked, counters.Failed, counters.Malformed, counters.SimTime, elapsed, rate);
        }

        using var ticker = progress is null ? null : time.CreateTimer(_ => progress.Report(Snapshot()), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        counters.SimTime = start;
        await transport.StartAsync(limit.Token).ConfigureAwait(false);
        var released = DateTimeOffset.MinValue;
        try
        {
            foreach (var message in generator.Messages())
            {
                if (limit.IsCancellationRequested || (options.MaxMessages > 0 && counters.Sent >= options.MaxMessages))
                {
                    break;
                }

                if (!options.Load && message.SimTime > released)
                {
                    var due = Due(message.SimTime, start, now, scenario.Acceleration);
                    var wait = due - Elapsed();
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, time, limit.Token).ConfigureAwait(false);
                    }

                    released = message.SimTime;
                }

                await transport.SendAsync(message, limit.Token).ConfigureAwait(false);
                counters.CountSent(message);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            // Wall-clock limit or Ctrl-C: a normal end of a run; what is in flight is still drained.
        }

        using var drain = new CancellationTokenSource(options.DrainTimeout, time);
        try
        {
            await transport.FlushAsync(drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (drain.IsCancellationRequested)
        {
            counters.LastError = $"in-flight messages not acknowledged within {options.DrainTimeout.TotalSeconds:N0} s";
        }

        var final = Snapshot();
        return final with { CurrentRate = final.AverageRate };
    }

    /// <summary>Wall-clock time since the run began at which simulated time reaches <paramref name="simTime"/>.</summary>
    public static TimeSpan Due(DateTimeOffset simTime, DateTimeOffset start, DateTimeOffset wallStart, double acceleration)
    {
        var accelerated = TimeSpan.FromTicks((long)((simTime - start).Ticks / acceleration));
        // Never ahead of the wall clock: once a live run has caught up, it runs at real time.
        var realTime = simTime - wallStart;
        return accelerated > realTime ? accelerated : realTime;
    }
}
