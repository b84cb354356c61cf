using System.Diagnostics;
using MQTTnet.Protocol;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Simulators.Lighting;

/// <summary>Options of a street-lighting run; every field has a CLI flag of the same name.</summary>
public sealed record LightingSimulationOptions
{
    public required BrokerEndpoint Broker { get; init; }

    public int Lamps { get; init; } = 200;

    public int Districts { get; init; } = 4;

    public string TopicRoot { get; init; } = "city";

    /// <summary>Total messages per second over the fleet; 0 = as fast as possible (load mode).</summary>
    public double Rate { get; init; } = 50;

    /// <summary>Messages to publish in all; 0 = no limit (then <see cref="Duration"/> or Ctrl-C ends the run).</summary>
    public long Messages { get; init; }

    /// <summary>Run time limit; zero = none.</summary>
    public TimeSpan Duration { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Device time of the first reading; default: chosen so that the last reading is not in the future.</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>Reporting interval of each lamp in device time; default: lamps / rate (real time), or 60 s in load mode.</summary>
    public TimeSpan? Interval { get; init; }

    public MqttQualityOfServiceLevel Qos { get; init; } = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>QoS 1 publishes awaiting PUBACK at once (also the number of concurrent publishing tasks).</summary>
    public int InFlight { get; init; } = 20;

    public string ClientId { get; init; } = "smartcity-sim-lighting";

    /// <summary>Announce every lamp (retained birth) before its telemetry; not counted in <see cref="Messages"/>.</summary>
    public bool Births { get; init; } = true;

    /// <summary>The lamps answer the worker's commands (and some misbehave as told); null: they ignore the cmd topic.</summary>
    public LampCommandOptions? Commands { get; init; }
}

public sealed record SimulationStats(long Published, long Failed, TimeSpan Elapsed)
{
    public double Rate => Elapsed > TimeSpan.Zero ? Published / Elapsed.TotalSeconds : 0;
}

/// <summary>Publishes a street-light fleet's telemetry to a broker at a paced or unbounded rate.</summary>
public static class LightingSimulation
{
    public static StreetLightFleet CreateFleet(LightingSimulationOptions o, DateTimeOffset now)
    {
        var interval = o.Interval ?? (o.Rate > 0 ? TimeSpan.FromSeconds(o.Lamps / o.Rate) : TimeSpan.FromMinutes(1));
        var perLamp = o.Messages > 0 ? (o.Messages + o.Lamps - 1) / o.Lamps : 0;
        // With a bounded run, the whole series ends now: device timestamps are never in the future.
        var start = o.Start ?? DateTimeOffset.FromUnixTimeSeconds((now - (interval * perLamp)).ToUnixTimeSeconds());
        return new StreetLightFleet(o.Lamps, o.Districts, o.TopicRoot, o.Seed, start, interval);
    }

    /// <summary>Publishes every lamp's retained birth message, all acknowledged before telemetry starts.</summary>
    public static async Task AnnounceAsync(StreetLightFleet fleet, MqttPublisher publisher, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var chunk in fleet.Lamps.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(lamp =>
            {
                var birth = fleet.Birth(lamp, now);
                return publisher.PublishAsync(birth.Topic, birth.Payload, qos, retain: true, cancellationToken);
            })).ConfigureAwait(false);
        }
    }

    public static async Task<SimulationStats> RunAsync(
        LightingSimulationOptions o,
        IProgress<SimulationStats>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var fleet = CreateFleet(o, DateTimeOffset.UtcNow);
        await using var publisher = await MqttPublisher.ConnectAsync(o.Broker, o.ClientId, cancellationToken).ConfigureAwait(false);
        await using var responder = o.Commands is null ? null : new LampCommandResponder(fleet, o.TopicRoot, o.Commands, TimeProvider.System);
        if (responder is not null)
        {
            await responder.StartAsync(o.Broker, o.ClientId + "-cmd", cancellationToken).ConfigureAwait(false);
        }
        if (o.Births)
        {
            await AnnounceAsync(fleet, publisher, o.Qos, cancellationToken).ConfigureAwait(false);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (o.Duration > TimeSpan.Zero)
        {
            limit.CancelAfter(o.Duration);
        }

        var clock = Stopwatch.StartNew();
        long next = -1;
        long published = 0;
        long failed = 0;

        async Task PublishLoopAsync()
        {
            while (!limit.IsCancellationRequested)
            {
                var k = Interlocked.Increment(ref next);
                if (o.Messages > 0 && k >= o.Messages)
                {
                    return;
                }

                if (o.Rate > 0)
                {
                    var due = TimeSpan.FromSeconds(k / o.Rate) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, limit.Token).ConfigureAwait(false);
                    }
                }

                var message = fleet.Create(k);
                try
                {
                    await publisher.PublishAsync(message.Topic, message.Payload, o.Qos, retain: false, limit.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref published);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref failed);
                    if (!publisher.IsConnected)
                    {
                        throw new InvalidOperationException($"lost the broker connection after {Interlocked.Read(ref published)} messages", ex);
                    }
                }
            }
        }

        using var ticker = progress is null ? null : new Timer(
            _ => progress.Report(new SimulationStats(Interlocked.Read(ref published), Interlocked.Read(ref failed), clock.Elapsed)),
            null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var loops = Enumerable.Range(0, Math.Max(1, o.InFlight)).Select(_ => Task.Run(PublishLoopAsync, CancellationToken.None)).ToArray();
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            // Duration reached or Ctrl-C: a normal end of a run.
        }

        return new SimulationStats(published, failed, clock.Elapsed);
    }
}
