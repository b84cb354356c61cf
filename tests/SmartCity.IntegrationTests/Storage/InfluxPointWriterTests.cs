using System.Text;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Sinks.Influx;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Storage;

/// <summary>
/// The sink's writer (InfluxDB.Client's low-level WriteService with a byte body) against the real
/// InfluxDB behind the v2 write shim: what it stores, and that its failures are the HttpExceptions
/// the sink's classifier sorts.
/// </summary>
public sealed class InfluxPointWriterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private static InfluxPointWriter Writer(string bucket) => new(Options.Create(Settings(bucket)));

    private static InfluxSinkOptions Settings(string bucket) => new()
    {
        Url = TestServers.InfluxUrl, Token = TestServers.InfluxToken, Org = TestServers.InfluxOrg, Bucket = bucket,
        BatchSize = 5_000, RetryBaseDelay = TimeSpan.FromMilliseconds(50), RetryMaxDelay = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public async Task WriteAsync_BodyOfLines_StoredWithNanosecondTimestampsAndUtf8Tags()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        using var writer = Writer(db.Name);
        // Nanosecond timestamps one millisecond apart: a wrong precision would collapse or shift them.
        const long T0 = 1_764_367_200_000_000_000;
        var body = Encoding.UTF8.GetBytes(
            $"street_light,device_id=lamp-1,district=Zürich power_w=1.5 {T0}\n" +
            $"street_light,device_id=lamp-1,district=Zürich power_w=2.5 {T0 + 1_000_000}\n" +
            $"street_light,device_id=lamp-2,district=Łódź power_w=3.5 {T0 + 2_000_000}\n");

        await writer.WriteAsync(body, CancellationToken.None);

        var rows = await db.RowsAsync("SELECT power_w FROM street_light GROUP BY district");
        Assert.Equal(3, rows.Count);
        Assert.Equal(["Zürich", "Zürich", "Łódź"], rows.Select(r => r.Tags["district"]));
        Assert.Equal([T0 / 1_000_000, T0 / 1_000_000 + 1, T0 / 1_000_000 + 2], rows.Select(r => r.Row["time"].GetInt64()));
        Assert.Equal([1.5, 2.5, 3.5], rows.Select(r => r.Row["power_w"].GetDouble()));
    }

    [Fact]
    public async Task WriteAsync_UnparsableLine_HttpException400ClassifiedBadData()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        using var writer = Writer(db.Name);

        var ex = await Assert.ThrowsAnyAsync<HttpException>(() => writer.WriteAsync(Encoding.UTF8.GetBytes("street_light,device_id=x 1\n"), CancellationToken.None));

        output.WriteLine($"refused: {ex.Status} {ex.Message}");
        Assert.Equal(400, ex.Status);
        Assert.Equal(WriteErrorClass.BadData, WriteErrorClassifier.Classify(ex));
    }

    [Fact]
    public async Task WriteAsync_UnknownDatabase_HttpExceptionClassifiedConfiguration()
    {
        using var writer = Writer(TestServers.UniqueName("missing_"));

        var ex = await Assert.ThrowsAnyAsync<HttpException>(() => writer.WriteAsync(Encoding.UTF8.GetBytes("m f=1 1\n"), CancellationToken.None));

        output.WriteLine($"refused: {ex.Status} {ex.Message}");
        Assert.Equal(WriteErrorClass.Configuration, WriteErrorClassifier.Classify(ex));
    }

    /// <summary>
    /// The whole storage path on the real database: spool, sink, writer. InfluxDB 1.x stores the good
    /// lines of a request and answers 400 for it; the sink splits by line offsets down to the bad line.
    /// </summary>
    [Fact]
    public async Task Sink_OneBadLineAmongGood_GoodStoredExactlyThatLineDeadLettered()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var directory = Path.Combine(Path.GetTempPath(), "smartcity-writer-tests-" + Guid.NewGuid().ToString("N"));
        using var metrics = new PipelineMetrics();
        var spool = new DurableSpool(Options.Create(new SpoolOptions { Directory = directory, Fsync = false }), metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance);
        using var writer = Writer(db.Name);
        var sink = new InfluxSink(spool, writer, metrics, new DeadLetters(), Options.Create(Settings(db.Name)), TimeProvider.System, NullLogger<InfluxSink>.Instance);
        await spool.StartAsync(CancellationToken.None);
        await sink.StartAsync(CancellationToken.None);
        try
        {
            const long T0 = 1_764_367_200_000_000_000;
            const int Good = 999;
            const string Bad = "street_light,device_id=lamp-bad,district=Zürich 42";
            var lines = Enumerable.Range(0, Good).Select(i => $"street_light,device_id=lamp-{i:0000},district=Zürich power_w={i}.5 {T0 + i}").ToList();
            lines.Insert(617, Bad);
            foreach (var line in lines)
            {
                Assert.True(await spool.AppendAsync(new BufferedMessage(line, false, null), CancellationToken.None));
            }

            var s = await metrics.WaitUntilAsync(s => s.PointsWritten == Good && s.DeadLettersWritten == 1 && s.SpoolDepth == 0, Timeout);

            Assert.Equal(Good, await db.CountAsync("SELECT count(power_w) FROM street_light"));
            Assert.Equal(Enumerable.Range(0, Good).Sum(i => i + 0.5), (await db.RowsAsync("SELECT sum(power_w) FROM street_light"))[0].Row["sum"].GetDouble(), 6);
            Assert.Equal(1, s.LinesDroppedByDatabase);
            var deadLetter = Assert.Single(await db.RowsAsync($"SELECT payload_excerpt, detail FROM {DeadLetters.Measurement} WHERE reason = 'RefusedByDatabase'"));
            Assert.Equal(Bad, deadLetter.Row["payload_excerpt"].GetString());
            output.WriteLine($"FIGURES good={Good} stored={Good} dead_lettered=1 write_failures={s.WriteFailures} detail={deadLetter.Row["detail"].GetString()}");
        }
        finally
        {
            spool.CompleteIntake();
            await sink.StopAsync(CancellationToken.None);
            await spool.StopAsync(CancellationToken.None);
            sink.Dispose();
            spool.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}
