using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Bench.Phases;

/// <summary>
/// InfluxDB's own write ceiling: the very lines the worker would write for the same fleet (decoded
/// by the worker's decoder, formatted by its line-protocol writer), in batches of the worker's
/// batch size, posted with a bare HttpClient to the same URL the worker writes to (the v2 write
/// API; on 1.x that is the nginx shim in front of influxd). Bodies are built before the clock
/// starts, so the figure is the database's (and the shim's), not the client's.
/// </summary>
public static class InfluxCeiling
{
    public sealed record Result(long Points, int BatchSize, int Concurrency, double Seconds, double PointsPerSecond, long Stored);

    /// <summary>The worker's lines for <paramref name="messages"/> messages of the fleet the publisher sends in load mode.</summary>
    public static List<string> WorkerLines(int lamps, int districts, long messages, DateTimeOffset start)
    {
        var fleet = LightingSimulation.CreateFleet(
            new LightingSimulationOptions { Broker = new BrokerEndpoint("127.0.0.1", 1), Lamps = lamps, Districts = districts, Messages = messages, Rate = 0, Start = start },
            DateTimeOffset.UtcNow);
        var decoder = WorkerDecoder();
        var now = DateTimeOffset.UtcNow;
        var lines = new List<string>((int)messages);
        for (long k = 0; k < messages; k++)
        {
            var m = fleet.Create(k);
            var outcome = decoder.Decode(m.Topic, new System.Buffers.ReadOnlySequence<byte>(m.Payload), now);
            if (outcome.Status != DecodeStatus.Accepted)
            {
                throw new InvalidOperationException($"the worker's decoder rejects the fleet's message {k}: {outcome.Result}");
            }

            lines.Add(LineProtocol.Format(outcome.Result.Point!));
        }

        return lines;
    }

    /// <summary>The worker's decode stage as its composition root builds it (device profiles and all), with default settings.</summary>
    public static MessageDecoder WorkerDecoder()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSmartCityPipeline(new ConfigurationBuilder().Build());
        return services.BuildServiceProvider().GetRequiredService<MessageDecoder>();
    }

    public static async Task<Result> RunAsync(HttpClient http, string influxUrl, string token, string org, string bucket, IReadOnlyList<string> lines, int batchSize, int concurrency)
    {
        var bodies = DirectWrite.Bodies(lines, batchSize);
        var uri = DirectWrite.WriteUri(influxUrl, org, bucket);
        var next = -1;
        var clock = Stopwatch.StartNew();
        async Task WriterAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < bodies.Count)
            {
                await DirectWrite.PostAsync(http, uri, token, bodies[i]);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WriterAsync)));
        var seconds = clock.Elapsed.TotalSeconds;
        return new Result(lines.Count, batchSize, concurrency, Math.Round(seconds, 2), Math.Round(lines.Count / seconds), 0);
    }
}
