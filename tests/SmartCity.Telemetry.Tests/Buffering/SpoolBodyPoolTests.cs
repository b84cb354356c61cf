using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Tests.Buffering;

public sealed class SpoolBodyPoolTests
{
    private const int Mb = 1024 * 1024;

    [Fact]
    public void Rent_SmallerAndBiggerArraysKept_TakesTheSmallestThatFits()
    {
        var pool = new SpoolBodyPool(keep: 3);
        pool.Observe(2 * Mb); // full batches lately: nothing is too big to keep
        var small = pool.Rent(100_000);
        var big = pool.Rent(2 * Mb);
        pool.Return(small);
        pool.Return(big);

        Assert.Same(small, pool.Rent(90_000));
        Assert.Same(big, pool.Rent(150_000));
    }

    [Fact]
    public void Rent_NothingKeptFits_AllocatesTheSizeRoundedToTheGranuleNotAPowerOfTwo()
    {
        var pool = new SpoolBodyPool(keep: 3);

        Assert.Equal(19 * SpoolBodyPool.Granule, pool.Rent(18 * SpoolBodyPool.Granule + 1).Length);
        Assert.Equal(SpoolBodyPool.Granule, pool.Rent(1).Length);
    }

    [Fact]
    public void Return_MoreThanKeep_KeepsOnlyTheBiggest()
    {
        var pool = new SpoolBodyPool(keep: 2);
        pool.Observe(2 * Mb); // full batches lately: nothing is too big to keep
        var arrays = new[] { pool.Rent(Mb), pool.Rent(2 * Mb), pool.Rent(Mb / 2), pool.Rent(2 * Mb) };
        foreach (var array in arrays)
        {
            pool.Return(array);
        }

        Assert.Equal(arrays[1].Length + arrays[3].Length, pool.KeptBytes);
    }

    [Fact]
    public void Keep_Lowered_DropsTheSmallest()
    {
        var pool = new SpoolBodyPool(keep: 3);
        pool.Observe(2 * Mb); // full batches lately: nothing is too big to keep
        var arrays = new[] { pool.Rent(Mb), pool.Rent(2 * Mb), pool.Rent(Mb / 2) };
        foreach (var array in arrays)
        {
            pool.Return(array);
        }

        pool.Keep = 1;

        Assert.Equal(arrays[1].Length, pool.KeptBytes);
    }

    [Fact]
    public void Return_BurstSizedArrayAfterSmallRents_IsNotKept()
    {
        var pool = new SpoolBodyPool(keep: 3);
        var burst = pool.Rent(2 * Mb);
        pool.Observe(2 * Mb);
        for (var i = 0; i < SpoolBodyPool.Recent; i++)
        {
            pool.Return(pool.Rent(1_024));
            pool.Observe(80_000);
        }

        pool.Return(burst);

        Assert.True(pool.KeptBytes < Mb, $"{pool.KeptBytes} bytes kept");
    }

    [Fact]
    public void Rent_SmallButFilledToFullSize_KeepsTheFullSizedArray()
    {
        // A lingering batch rents for the one record on disk, then fills the kept array it was given.
        var pool = new SpoolBodyPool(keep: 3);
        var full = pool.Rent(2 * Mb);
        pool.Observe(2 * Mb);
        pool.Return(full);
        for (var i = 0; i < 2 * SpoolBodyPool.Recent; i++)
        {
            var body = pool.Rent(1_024);
            pool.Observe(2 * Mb - 1_000);
            Assert.Same(full, body);
            pool.Return(body);
        }
    }

    [Fact]
    public void Return_OneShortBatchAmongFullOnes_KeepsTheFullSizedArray()
    {
        var pool = new SpoolBodyPool(keep: 3);
        var full = pool.Rent(2 * Mb);
        pool.Observe(2 * Mb);
        pool.Return(pool.Rent(80_000));
        pool.Observe(80_000);
        pool.Return(full);

        Assert.Same(full, pool.Rent(2 * Mb));
    }
}
