using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The bound on messages held between the socket and the acknowledgement (the MQTT reader's gate).</summary>
public sealed class ReceiveBacklogTests
{
    [Fact]
    public void WaitForRoomAsync_BelowTheBound_CompletesAtOnce()
    {
        using var backlog = new ReceiveBacklog(3, new FakeTimeProvider());
        backlog.Read();
        backlog.Read();

        Assert.True(backlog.WaitForRoomAsync(CancellationToken.None).IsCompletedSuccessfully);
        Assert.Equal(0, backlog.HeldEpisodes);
    }

    [Fact]
    public async Task WaitForRoomAsync_AtTheBound_WaitsUntilAReleaseAndCountsTheTimeHeld()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(2, time);
        backlog.Read();
        backlog.Read();

        var wait = backlog.WaitForRoomAsync(CancellationToken.None);
        Assert.False(wait.IsCompleted);
        Assert.True(backlog.AtLimit);
        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.FromMilliseconds(250), backlog.HeldTime); // a hold in progress counts
        backlog.Release();
        await wait.WaitAsync(TimeSpan.FromSeconds(30));

        time.Advance(TimeSpan.FromSeconds(5)); // not held any more: no longer counted
        Assert.Equal(TimeSpan.FromMilliseconds(250), backlog.HeldTime);
        Assert.Equal(1, backlog.HeldEpisodes);
        Assert.Equal(1, backlog.Depth);
        Assert.Equal(2, backlog.Peak);
    }

    [Fact]
    public async Task Release_SeveralAtOnceAfterAConnectionDropped_FreesTheReader()
    {
        using var backlog = new ReceiveBacklog(5, new FakeTimeProvider());
        for (var i = 0; i < 5; i++)
        {
            backlog.Read();
        }

        var wait = backlog.WaitForRoomAsync(CancellationToken.None);
        backlog.Release(0);
        Assert.False(wait.IsCompleted);
        backlog.Release(4);

        await wait.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, backlog.Depth);
    }

    [Fact]
    public void Release_OneBelowTheBound_KeepsTheReaderHeldUntilAQuarterIsFree()
    {
        using var backlog = new ReceiveBacklog(2_000, new FakeTimeProvider());
        for (var i = 0; i < 2_000; i++)
        {
            backlog.Read();
        }

        var wait = backlog.WaitForRoomAsync(CancellationToken.None);
        backlog.Release();
        Assert.False(wait.IsCompleted); // one free place is not worth waking the reader for
        Assert.False(backlog.AtLimit);  // below the bound itself
        Assert.True(backlog.Held);      // but a reader looking now still waits for the quarter

        backlog.Release(498);
        Assert.False(wait.IsCompleted);
        backlog.Release();
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(1_500, backlog.ResumeAt);
        Assert.Equal(1, backlog.Resumes);
    }

    [Fact]
    public void Release_CommitsAcknowledgedOneByOneAtTheBound_WakesTheReaderOncePerQuarterNotPerMessage()
    {
        // The reader and the spool's acknowledgements, played out in turn: the reader reads until the
        // bound and waits; each group commit then releases its messages one at a time.
        const int limit = 100;
        using var backlog = new ReceiveBacklog(limit, new FakeTimeProvider());
        var wakes = 0;
        var read = 0;
        void ReadUntilHeld(ref Task room)
        {
            while (!backlog.AtLimit)
            {
                backlog.Read();
                read++;
            }

            room = backlog.WaitForRoomAsync(CancellationToken.None);
        }

        var room = Task.CompletedTask;
        ReadUntilHeld(ref room);
        for (var commit = 0; commit < 10; commit++)
        {
            for (var ack = 0; ack < limit; ack++)
            {
                backlog.Release();
                if (room.IsCompleted)
                {
                    wakes++;
                    ReadUntilHeld(ref room);
                }
            }
        }

        Assert.Equal(1_000 + limit, read);
        Assert.Equal(40, wakes);            // before: 1,000 (one per released message)
        Assert.Equal(wakes, backlog.Resumes);
        Assert.Equal(limit, backlog.Peak);  // the bound holds
    }

    [Fact]
    public void Release_WhileTheReaderAtTheBoundStillHandlesItsMessage_CountsTheHoldAndKeepsItUntilAQuarterIsFree()
    {
        // The reader hands each message to its handler before it asks for room; a group commit may
        // release messages meanwhile. The read that reached the bound holds the reader all the same.
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(8, time);
        for (var i = 0; i < 8; i++)
        {
            backlog.Read();
        }

        time.Advance(TimeSpan.FromMilliseconds(40)); // the handler of the 8th message runs
        backlog.Release();                           // the spool frees one place meanwhile

        Assert.Equal(1, backlog.HeldEpisodes);       // before: 0 (the reader never asked while at the bound)
        Assert.Equal(TimeSpan.FromMilliseconds(40), backlog.HeldTime);
        var room = backlog.WaitForRoomAsync(CancellationToken.None);
        Assert.False(room.IsCompleted);              // before: completed at once, one read per freed place

        time.Advance(TimeSpan.FromMilliseconds(10));
        backlog.Release();                           // 6 = ResumeAt
        Assert.True(room.IsCompletedSuccessfully);
        Assert.Equal(1, backlog.Resumes);
        Assert.Equal(TimeSpan.FromMilliseconds(50), backlog.HeldTime);
        Assert.False(backlog.Held);
    }

    [Fact]
    public async Task WaitForRoomAsync_ConnectionClosing_Cancelled()
    {
        using var backlog = new ReceiveBacklog(1, new FakeTimeProvider());
        backlog.Read();
        using var closing = new CancellationTokenSource();

        var wait = backlog.WaitForRoomAsync(closing.Token);
        await closing.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }
}
