using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Rollups;

namespace SmartCity.Telemetry.Tests.Rollups;

/// <summary>When a window is computed (lateness, the sink's backlog), and that a restart neither skips nor repeats one.</summary>
public sealed class RollupServiceTests : IDisposable
{
    // Thursday 12 March 2026, 10:00 UTC (11:00 in Amsterdam).
    private static readonly DateTimeOffset Start = new(2026, 3, 12, 10, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rollup-tests-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeRollupStore _store = new();
    private (SpoolPosition End, SpoolPosition Stored, bool All) _spool = (default, default, true);

    private RollupOptions Options => new()
    {
        Enabled = true,
        Lateness = TimeSpan.FromHours(1),
        Backfill = TimeSpan.Zero,
        StateFile = Path.Combine(_dir, "rollups.json"),
    };

    /// <summary>A worker started now: its first look (nothing is final yet) fixes where its windows begin.</summary>
    private async Task<RollupService> StartServiceAsync()
    {
        var service = new RollupService(Options, "Europe/Amsterdam", createBucket: false, _store, new SinkProgress(() => _spool), _time, NullLogger<RollupService>.Instance);
        await service.RunOnceAsync(CancellationToken.None);
        return service;
    }

    private List<DateTimeOffset> HourlyPoints(string device = "room-1") =>
        [.. _store.Points(RollupMeasurements.ClassroomHourly).Where(p => p.Device == device).Select(p => p.Time)];

    [Fact]
    public async Task RunOnce_BeforeTheHourClosedPlusLateness_ComputesNothing_ThenExactlyOnce()
    {
        var service = await StartServiceAsync();
        _store.Arrive(Start.AddMinutes(10), "room-1", 800);

        _time.SetUtcNow(Start.AddHours(2).AddTicks(-1)); // the 10:00 hour closed at 11:00; lateness 1 h
        await service.RunOnceAsync(CancellationToken.None);
        Assert.Empty(HourlyPoints());

        _time.SetUtcNow(Start.AddHours(2));
        await service.RunOnceAsync(CancellationToken.None);
        await service.RunOnceAsync(CancellationToken.None);

        Assert.Equal([Start], HourlyPoints());
    }

    [Fact]
    public async Task RunOnce_LateReadingWithinTheBound_IsCounted_OneAfterTheBound_IsNot()
    {
        var service = await StartServiceAsync();
        _store.Arrive(Start.AddMinutes(5), "room-1", 700);
        // Sent by the device at 10:55, reaching the worker 59 minutes after the hour closed: within Lateness.
        _time.SetUtcNow(Start.AddHours(1).AddMinutes(59));
        _store.Arrive(Start.AddMinutes(55), "room-1", 1_300);
        await service.RunOnceAsync(CancellationToken.None);

        _time.SetUtcNow(Start.AddHours(2));
        await service.RunOnceAsync(CancellationToken.None);
        // Later than the bound: in the raw data, not in the rollup already written.
        _store.Arrive(Start.AddMinutes(56), "room-1", 5_000);
        _time.SetUtcNow(Start.AddHours(3));
        await service.RunOnceAsync(CancellationToken.None);

        var point = Assert.Single(_store.Points(RollupMeasurements.ClassroomHourly), p => p.Time == Start);
        Assert.Equal("1000", point.Fields["co2_mean_ppm"]);
        Assert.Equal("1300", point.Fields["co2_max_ppm"]);
        Assert.Equal("2i", point.Fields["samples"]);
    }

    [Fact]
    public async Task RunOnce_SinkBehind_WaitsUntilItStoredWhatWasReceived()
    {
        var service = await StartServiceAsync();
        _store.Arrive(Start.AddMinutes(10), "room-1", 800);
        var end = new SpoolPosition(3, 500);
        _spool = (end, new SpoolPosition(1, 0), false); // InfluxDB was down: records wait in the spool

        _time.SetUtcNow(Start.AddHours(5));
        await service.RunOnceAsync(CancellationToken.None);
        _spool = (new SpoolPosition(3, 900), new SpoolPosition(3, 100), false);
        _time.SetUtcNow(Start.AddHours(5).AddMinutes(5));
        await service.RunOnceAsync(CancellationToken.None);
        Assert.Empty(HourlyPoints());

        // The sink passed the first mark: everything received by 15:00 is stored, so hours up to 14:00 are final.
        _spool = (new SpoolPosition(3, 1_200), new SpoolPosition(3, 600), false);
        _time.SetUtcNow(Start.AddHours(5).AddMinutes(10));
        await service.RunOnceAsync(CancellationToken.None);

        Assert.Equal([Start], HourlyPoints());
        Assert.Equal(Start.AddHours(4), _store.QueriedRanges.Max(r => r.End));
    }

    [Fact]
    public async Task RunOnce_RestartedMidWindow_ContinuesWithoutGapOrRepeat()
    {
        for (var h = 0; h < 6; h++)
        {
            _store.Arrive(Start.AddHours(h).AddMinutes(30), "room-1", 600 + h);
        }

        var first = await StartServiceAsync();
        _time.SetUtcNow(Start.AddHours(3).AddMinutes(30)); // hours 10 and 11 final; 12:00-13:00 closed, 13:00 half done
        await first.RunOnceAsync(CancellationToken.None);
        Assert.Equal([Start, Start.AddHours(1)], HourlyPoints());

        // A new worker on the same state file (the process restarted), some time later.
        _time.SetUtcNow(Start.AddHours(7));
        var second = await StartServiceAsync();
        await second.RunOnceAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 6).Select(h => Start.AddHours(h)), HourlyPoints());
        Assert.Equal(6, _store.QueriedRanges.Count(r => r.End - r.Start == TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task RunOnce_WriteFails_WindowIsTriedAgainNextTime()
    {
        var service = await StartServiceAsync();
        _store.Arrive(Start.AddMinutes(10), "room-1", 800);
        _time.SetUtcNow(Start.AddHours(2));
        _store.FailWrites = true;
        Assert.Equal(0, await service.RunOnceAsync(CancellationToken.None));

        _store.FailWrites = false;
        await service.RunOnceAsync(CancellationToken.None);

        Assert.Equal([Start], HourlyPoints());
    }

    [Fact]
    public async Task RunOnce_DailyWindow_IsTheCitysDayAfterItsEndPlusLateness()
    {
        var service = await StartServiceAsync();
        // 12 March in Amsterdam ends at 23:00 UTC; with 1 h lateness it is final at 00:00 UTC on the 13th.
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 13, 0, 0, 0, TimeSpan.Zero));
        await service.RunOnceAsync(CancellationToken.None);

        Assert.Contains((new DateTimeOffset(2026, 3, 11, 23, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 12, 23, 0, 0, TimeSpan.Zero)), _store.QueriedRanges);
    }

    [Theory]
    [InlineData(100.0, 104.0, 99.0, 5.0)]   // last reading of the day minus last before it
    [InlineData(100.0, 104.0, null, 4.0)]   // no earlier reading: from the first of the day
    [InlineData(2.0, 3.0, 5_000.0, 1.0)]    // the meter went back (replaced): from the first of the day
    [InlineData(null, null, 99.0, null)]    // no meter readings that day
    public void LampEnergy_MeterReadings_RiseDuringTheDay(double? first, double? last, double? before, double? expected) =>
        Assert.Equal(expected, RollupJobs.LampEnergy(first, last, before));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}

public sealed class RollupOptionsTests
{
    private static IEnumerable<string> Check(bool enabled, string rollupBucket, string rawBucket)
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<RollupOptions>(services, o => (o.Enabled, o.Bucket) = (enabled, rollupBucket));
        Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<SmartCity.Telemetry.Sinks.Influx.InfluxSinkOptions>(services, o => o.Bucket = rawBucket);
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        return [.. RollupOptions.CheckBuckets(provider)];
    }

    [Fact]
    public void CheckBuckets_RollupsInTheRawBucket_RefusedNamingTheSetting() =>
        Assert.Contains("Rollups:Bucket", Assert.Single(Check(true, "smartcity", "smartcity")), StringComparison.Ordinal);

    [Fact]
    public void CheckBuckets_SeparateBucketsOrDisabled_Accepted()
    {
        Assert.Empty(Check(true, "smartcity_rollups", "smartcity"));
        Assert.Empty(Check(false, "smartcity", "smartcity"));
    }
}
