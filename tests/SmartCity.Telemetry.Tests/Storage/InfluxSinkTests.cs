using System.Collections.Concurrent;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Storage;

public sealed partial class InfluxSinkTests : IAsyncLifetime
{
    // Only how long a wait for the sink's own thread may take (a loaded 2-core CI machine); never a bound the tests assert.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 22, 0, 0, TimeSpan.Zero));
    private readonly PipelineMetrics _metrics = new();
    private readonly FakeWriter _writer = new();
    private readonly DurableSpool _spool;
    private InfluxSink _sink;
    private readonly ConcurrentQueue<string> _acks = new();
    private readonly string _spoolDirectory = Path.Combine(Path.GetTempPath(), "smartcity-sink-tests-" + Guid.NewGuid().ToString("N"));

    public InfluxSinkTests()
    {
        _spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _spoolDirectory, Fsync = false }),
            _metrics,
            _time,
            NullLogger<DurableSpool>.Instance);
        // No linger here: these tests are about what is written, not when (the linger tests set their own).
        _sink = CreateSink(batchSize: 100, linger: TimeSpan.Zero);
    }

    private InfluxSink CreateSink(int batchSize, TimeSpan linger, int? lingerRecords = null) => new(
        _spool,
        _writer,
        _metrics,
        new DeadLetters(),
        Options.Create(new InfluxSinkOptions
        {
            Url = "http://unused", Token = "t", Org = "o", Bucket = "b", BatchSize = batchSize, BatchLinger = linger,
            BatchLingerRecords = lingerRecords ?? new InfluxSinkOptions().BatchLingerRecords,
            RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(30),
        }),
        _time,
        NullLogger<InfluxSink>.Instance);

    /// <summary>Replaces the running sink (nothing written yet) by one with these settings.</summary>
    private async Task UseSinkAsync(int batchSize, TimeSpan linger, int? lingerRecords = null)
    {
        await _sink.StopAsync(CancellationToken.None);
        _sink.Dispose();
        _sink = CreateSink(batchSize, linger, lingerRecords);
        await _sink.StartAsync(CancellationToken.None);
    }

    public async Task InitializeAsync()
    {
        await _spool.StartAsync(CancellationToken.None);
        await _sink.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        _spool.CompleteIntake();
        await _sink.StopAsync(CancellationToken.None);
        await _spool.StopAsync(CancellationToken.None);
        _sink.Dispose();
        _spool.Dispose();
        _metrics.Dispose();
        Directory.Delete(_spoolDirectory, recursive: true);
    }

    private BufferedMessage Message(string line, bool deadLetter = false) => new(line, deadLetter, _ =>
    {
        _acks.Enqueue(line);
        return Task.CompletedTask;
    });

    /// <summary>
    /// Moves the fake clock in steps until the writer has seen <paramref name="attempts"/> attempts and
    /// returns how far it moved. Polly arms its delay timer just after the failed attempt returns,
    /// so time moved before that is not counted by the timer: the result is an upper bound of the
    /// delay, and a lower bound holds exactly (the retry never comes early).
    /// </summary>
    private async Task<TimeSpan> AdvanceUntilAttemptAsync(int attempts, TimeSpan step, TimeSpan max)
    {
        var moved = TimeSpan.Zero;
        while (_writer.Attempts < attempts)
        {
            Assert.True(moved < max, $"no attempt {attempts} after moving the clock {moved}");
            _time.Advance(step);
            moved += step;
            await _writer.WaitForAttemptsAsync(attempts, TimeSpan.FromMilliseconds(50)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        return moved;
    }

    private async Task EnqueueAsync(params BufferedMessage[] messages)
    {
        foreach (var m in messages)
        {
            Assert.True(await _spool.AppendAsync(m, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Write_DatabaseUp_SpooledMessagesAcknowledgedInOrderAndWritten()
    {
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"), new BufferedMessage(null, false, _ => { _acks.Enqueue("ignored"); return Task.CompletedTask; }));

        var s = await _metrics.WaitUntilAsync(s => s.Acknowledged == 3 && s.PointsWritten == 2, Timeout);

        Assert.Equal(["m f=1 1", "m f=2 2"], _writer.Stored);
        Assert.Equal(["m f=1 1", "m f=2 2", "ignored"], _acks);
        Assert.Equal(0, s.SpoolDepth);
    }

    [Fact]
    public async Task Write_DatabaseDown_DataWaitsInSpoolUntilItRecovers()
    {
        _writer.FailNext(3, () => new HttpException("unavailable", 503));
        await EnqueueAsync(Message("m f=1 1"));

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await _writer.WaitForAttemptsAsync(attempt, Timeout);
            // Safe on disk, so the broker may forget it; not yet stored.
            Assert.Equal(["m f=1 1"], _acks);
            Assert.Equal(1, _metrics.Snapshot().SpoolDepth);
            Assert.True(_metrics.Snapshot().SinkBlocked);
            // Retry delays run on the fake clock: nothing waits for real time.
            await AdvanceUntilAttemptAsync(attempt + 1, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        }

        var s = await _metrics.WaitUntilAsync(s => s.PointsWritten == 1, Timeout);
        Assert.Equal(["m f=1 1"], _writer.Stored);
        Assert.Equal(3, s.WriteFailures);
        Assert.False(s.SinkBlocked);
        Assert.Equal(0, s.SpoolDepth);
    }

    [Fact]
    public async Task Write_RetryAfter_HonouredBeforeNextAttempt()
    {
        _writer.FailNext(1, () => new HttpException("slow down", 429) { RetryAfter = 20 });
        await EnqueueAsync(Message("m f=1 1"));
        await _writer.WaitForAttemptsAsync(1, Timeout);

        var waited = await AdvanceUntilAttemptAsync(2, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

        // The server asked for 20 s; the base delay alone would have been 1 s.
        Assert.True(waited >= TimeSpan.FromSeconds(20), $"retried after {waited}");
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1, Timeout);
        Assert.Equal(2, _writer.Attempts);
    }

    [Fact]
    public async Task Write_OneBadLineInBatch_GoodLinesStoredBadLineDeadLetteredAllAcknowledged()
    {
        _writer.RejectLinesStartingWith("bad ");
        var lines = Enumerable.Range(0, 10).Select(i => i == 6 ? "bad f=6 6" : $"m f={i} {i}").ToArray();
        await EnqueueAsync(lines.Select(l => Message(l)).ToArray());

        var s = await _metrics.WaitUntilAsync(s => s.PointsWritten == 9 && s.SpoolDepth == 0, Timeout);

        // Lines of a partial write may be written twice while the batch is split: InfluxDB keeps one point per series and time.
        Assert.Equal(lines.Where(l => !l.StartsWith("bad ", StringComparison.Ordinal)).Order(), _writer.Stored.Where(l => l.StartsWith("m ", StringComparison.Ordinal)).Distinct().Order());
        var deadLetter = Assert.Single(_writer.Stored, l => l.StartsWith(DeadLetters.Measurement, StringComparison.Ordinal));
        Assert.Contains("RefusedByDatabase", deadLetter, StringComparison.Ordinal);
        Assert.Contains("bad f=6 6", deadLetter, StringComparison.Ordinal);
        Assert.Equal(1, s.LinesDroppedByDatabase);
    }

    [Fact]
    public async Task Write_Unauthorized_KeepsRetryingAtMaxDelayAndReportsBlocked()
    {
        _writer.FailNext(2, () => new HttpException("unauthorized access", 401));
        await EnqueueAsync(Message("m f=1 1"));
        await _writer.WaitForAttemptsAsync(1, Timeout);

        Assert.Contains("refuses", _metrics.Snapshot().SinkBlockedReason, StringComparison.Ordinal);
        // Refused credentials are retried at the slowest pace (RetryMaxDelay, 30 s), not hammered.
        Assert.True(await AdvanceUntilAttemptAsync(2, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2)) >= TimeSpan.FromSeconds(30));
        Assert.Equal(0, _metrics.Snapshot().PointsWritten);
        await AdvanceUntilAttemptAsync(3, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1, Timeout);
    }

    [Theory]
    [InlineData(405)]
    [InlineData(409)]
    [InlineData(418)]
    public async Task Write_OtherClientError_BatchDeadLetteredWithStatusNotRetried(int status)
    {
        // Both records in the one refused request: the batch fills at two, and the clock never moves (no linger ends).
        await UseSinkAsync(batchSize: 2, linger: TimeSpan.FromSeconds(10));
        _writer.FailNext(1, () => new HttpException("I refuse", status));
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"));

        // No clock moves: a refused request is not retried after a backoff, the spool's head moves on at once.
        var s = await _metrics.WaitUntilAsync(s => s.SpoolDepth == 0 && s.LinesDroppedByDatabase == 2, Timeout);

        Assert.DoesNotContain(_writer.Stored, l => l.StartsWith("m ", StringComparison.Ordinal));
        var deadLetters = _writer.Stored.Where(l => l.StartsWith(DeadLetters.Measurement, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, deadLetters.Count);
        Assert.All(deadLetters, d => Assert.Contains($"HTTP {status}: I refuse", d, StringComparison.Ordinal));
        Assert.Contains(deadLetters, d => d.Contains("m f=1 1", StringComparison.Ordinal));
        Assert.Contains(deadLetters, d => d.Contains("m f=2 2", StringComparison.Ordinal));
        Assert.Equal(0, s.PointsWritten);
        Assert.False(s.SinkBlocked);
    }

    public static TheoryData<Exception> ProgrammingErrors() => new()
    {
#pragma warning disable CA2201 // the runtime's own exception, as a bug in the writer would raise it
        new NullReferenceException(),
#pragma warning restore CA2201
        new InvalidOperationException("bug"),
        new ArgumentException("bug"),
        new FormatException("Retry-After: Wed, 21 Oct 2026 07:28:00 GMT"),
    };

    [Theory]
    [MemberData(nameof(ProgrammingErrors))]
    public async Task Write_ProgrammingError_SinkStopsLoudlyInsteadOfRetrying(Exception bug)
    {
        _writer.FailNext(int.MaxValue, () => bug);
        await EnqueueAsync(Message("m f=1 1"));

        // The service faults (the host then stops and the worker exits non-zero) rather than spin.
        var stopped = await Assert.ThrowsAnyAsync<Exception>(() => _sink.ExecuteTask!.WaitAsync(Timeout));
        Assert.Same(bug, stopped);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, _writer.Attempts);
        var s = _metrics.Snapshot();
        Assert.True(s.SinkBlocked);
        Assert.Contains("internal error", s.SinkBlockedReason, StringComparison.Ordinal);
        // Nothing lost: the record waits in the spool for the next start.
        Assert.Equal(1, s.SpoolDepth);
    }

    public static TheoryData<Exception> NetworkErrors() => new()
    {
        new HttpRequestException("Connection refused"),
        new IOException("broken pipe"),
        new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset),
        new HttpException("bad gateway", 502),
    };

    [Theory]
    [MemberData(nameof(NetworkErrors))]
    public async Task Write_NetworkError_RetriedUntilStored(Exception failure)
    {
        _writer.FailNext(2, () => failure);
        await EnqueueAsync(Message("m f=1 1"));
        await _writer.WaitForAttemptsAsync(1, Timeout);

        await AdvanceUntilAttemptAsync(3, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1 && s.SpoolDepth == 0, Timeout);
        Assert.Equal(["m f=1 1"], _writer.Stored);
    }

    [Fact]
    public async Task Write_NoAnswer_HealthSaysStalledLongBeforeTheWriteTimeout()
    {
        var release = _writer.HoldWritesStartingWith("slow ");
        await EnqueueAsync(Message("slow f=1 1"));
        await _writer.Held.WaitAsync(Timeout);
        Assert.False(_metrics.Snapshot().SinkBlocked);

        // WriteTimeout is 10 s here: the stall shows after 2 s, not after the timeout.
        _time.Advance(TimeSpan.FromSeconds(2));

        var s = _metrics.Snapshot();
        Assert.True(s.SinkBlocked);
        Assert.StartsWith("InfluxDB write stalled: no answer for 2 s", s.SinkBlockedReason, StringComparison.Ordinal);
        Assert.Equal("InfluxDB not answering", _metrics.SinkBlockedSummary);

        release.SetResult();
        s = await _metrics.WaitUntilAsync(s => s.PointsWritten == 1, Timeout);
        Assert.False(s.SinkBlocked);
    }

    [Fact]
    public async Task Write_ClientTimeout_ReportedAsTimedOutNotAsCanceled()
    {
        // InfluxDB.Client's own timeout: status 0, and only "The operation was canceled." to say it.
        _writer.FailNext(1, () => new HttpException("The operation was canceled.", 0, new TaskCanceledException()));
        await EnqueueAsync(Message("m f=1 1"));
        await _writer.WaitForAttemptsAsync(1, Timeout);

        await _metrics.WaitUntilAsync(s => s.SinkBlockedReason == "InfluxDB write timed out after 10 s", Timeout);
        Assert.Equal("InfluxDB write timed out", _metrics.SinkBlockedSummary);
        await AdvanceUntilAttemptAsync(2, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1, Timeout);
    }

    [Fact]
    public async Task Write_DatabaseBackAfterLongOutage_RetriedWithinAProbeNotAfterTheFullBackoff()
    {
        _writer.FailNext(8, () => new HttpRequestException("Connection refused"));
        await EnqueueAsync(Message("m f=1 1"));
        await AdvanceUntilAttemptAsync(8, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));

        // The backoff has grown to its cap (30 s here); the database comes back now.
        _writer.PingAnswers = true;
        var waited = await AdvanceUntilAttemptAsync(9, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(1));

        // The first probe the database answers ends the wait. Counted in probes, not in how far the clock was moved:
        // the clock moves in steps with a short real pause between them, and a loaded machine let it run past the
        // probe before the sink had armed it (the former "within 2 s" bound). Before the shortest backoff (half of
        // the 30 s cap, with equal jitter) could have ended, too.
        Assert.Equal(1, _writer.PingsAnswered);
        Assert.True(waited < TimeSpan.FromSeconds(15), $"retried {waited} after the database answered again");
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 1 && !s.SinkBlocked, Timeout);
    }

    [Fact]
    public async Task Write_SlowWrite_NextBatchWrittenMeanwhileButCommittedAfterIt()
    {
        var release = _writer.HoldWritesStartingWith("slow ");
        await EnqueueAsync(Message("slow f=1 1"));
        await _writer.Held.WaitAsync(Timeout);

        await EnqueueAsync(Message("m f=2 2"));
        // The second batch reaches the database while the first is still being written...
        await _writer.WaitForStoredAsync("m f=2 2", Timeout);
        // ...but the spool's cursor waits for the first: nothing counted as stored, both still pending.
        var during = _metrics.Snapshot();
        Assert.Equal(0, during.PointsWritten);
        Assert.Equal(2, during.SpoolDepth);

        release.SetResult();
        var s = await _metrics.WaitUntilAsync(s => s.PointsWritten == 2 && s.SpoolDepth == 0, Timeout);
        Assert.Equal(["m f=2 2", "slow f=1 1"], _writer.Stored);
        Assert.Equal(2, s.Acknowledged);
    }

    [Fact]
    public async Task Linger_FewRecords_WaitForTheOldestToWaitBatchLingerThenOneWrite()
    {
        await UseSinkAsync(batchSize: 100, linger: TimeSpan.FromMilliseconds(100));
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 2, Timeout);
        _time.Advance(TimeSpan.FromMilliseconds(99));
        await EnqueueAsync(Message("m f=3 3"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 3, Timeout);

        // All three are on disk and the sink holds them, but the first has waited only 99 ms (fake clock).
        Assert.Equal(0, _writer.Attempts);

        // The sink arms its timer when it gets to it, so the clock may pass the linger before it fires
        // (AdvanceUntilAttemptAsync); never before it, as the assertion above shows.
        await AdvanceUntilAttemptAsync(1, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 3, Timeout);
        Assert.Equal(1, _writer.Attempts);
        Assert.Equal(["m f=1 1", "m f=2 2", "m f=3 3"], _writer.Stored);
    }

    [Fact]
    public async Task Linger_BatchFills_WrittenWithoutWaiting()
    {
        await UseSinkAsync(batchSize: 4, linger: TimeSpan.FromSeconds(10));
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 2, Timeout);
        await EnqueueAsync(Message("m f=3 3"), Message("m f=4 4"), Message("m f=5 5"));

        // The clock never moves: a full batch of 4 goes at once, the fifth waits for its own linger.
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 4, Timeout);
        Assert.Equal(["m f=1 1", "m f=2 2", "m f=3 3", "m f=4 4"], _writer.Stored);
        Assert.Equal(1, _writer.Attempts);

        Assert.True(await AdvanceUntilAttemptAsync(2, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)) >= TimeSpan.FromSeconds(10));
        await _metrics.WaitUntilAsync(s => s.PointsWritten == 5, Timeout);
    }

    [Fact]
    public async Task Linger_IntakeEnds_WhatTheSinkHoldsIsWrittenAtOnce()
    {
        await UseSinkAsync(batchSize: 100, linger: TimeSpan.FromSeconds(10));
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 2, Timeout);

        // Stopping the worker: the spool's intake closes and the sink must not sit out its linger.
        _spool.CompleteIntake();

        await _metrics.WaitUntilAsync(s => s.PointsWritten == 2 && s.SpoolDepth == 0, Timeout);
        Assert.Equal(1, _writer.Attempts);
    }

    /// <summary>A database stand-in: stores lines, fails on demand, refuses lines of one measurement like a 400 partial write.</summary>
    private sealed class FakeWriter : IPointWriter
    {
        private readonly object _lock = new();
        private readonly List<string> _stored = [];
        private int _failures;
        private Func<Exception>? _failure;
        private string? _badMarker;
        private int _attempts;
        private TaskCompletionSource _attempted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Attempts => Volatile.Read(ref _attempts);

        public IReadOnlyList<string> Stored
        {
            get
            {
                lock (_lock)
                {
                    return [.. _stored];
                }
            }
        }

        public void FailNext(int count, Func<Exception> failure) => (_failures, _failure) = (count, failure);

        /// <summary>Whether /ping answers (a database that is back); false while it is down.</summary>
        public bool PingAnswers { get; set; }

        /// <summary>Pings answered (made while <see cref="PingAnswers"/> was true).</summary>
        public int PingsAnswered => Volatile.Read(ref _pingsAnswered);

        private int _pingsAnswered;

        public Task<bool> PingAsync(CancellationToken cancellationToken)
        {
            var answers = PingAnswers;
            if (answers)
            {
                Interlocked.Increment(ref _pingsAnswered);
            }

            return Task.FromResult(answers);
        }

        public void RejectLinesStartingWith(string marker) => _badMarker = marker;

        private string? _holdMarker;
        private Task _holdGate = Task.CompletedTask;
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when a held write has started.</summary>
        public Task Held => _held.Task;

        /// <summary>Writes with a line starting with <paramref name="marker"/> wait until the returned source is completed: a slow write.</summary>
        public TaskCompletionSource HoldWritesStartingWith(string marker)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_holdMarker, _holdGate) = (marker, gate.Task);
            return gate;
        }

        public async Task WaitForStoredAsync(string line, TimeSpan timeout)
        {
            var attempts = Attempts;
            while (!Stored.Contains(line))
            {
                await WaitForAttemptsAsync(++attempts, timeout);
            }
        }

        public async Task WaitForAttemptsAsync(int n, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                Task next;
                lock (_lock)
                {
                    if (_attempts >= n)
                    {
                        return;
                    }

                    next = _attempted.Task;
                }

                await next.WaitAsync(cts.Token);
            }
        }

        public Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            // The body as the database parses it: UTF-8 lines, each ending in '\n'.
            Assert.Equal((byte)'\n', body.Span[^1]);
            var lines = System.Text.Encoding.UTF8.GetString(body.Span).Split('\n')[..^1];
            if (_holdMarker is { } marker && lines.Any(l => l.StartsWith(marker, StringComparison.Ordinal)))
            {
                return HeldWriteAsync(lines, cancellationToken);
            }

            return Store(lines);
        }

        private async Task HeldWriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
        {
            _held.TrySetResult();
            await _holdGate.WaitAsync(cancellationToken);
            await Store(lines);
        }

        private Task Store(IReadOnlyList<string> lines)
        {
            TaskCompletionSource signal;
            try
            {
                lock (_lock)
                {
                    if (_failures > 0)
                    {
                        _failures--;
                        throw _failure!();
                    }

                    var bad = _badMarker is null ? [] : lines.Where(l => l.StartsWith(_badMarker, StringComparison.Ordinal)).ToList();
                    // Like InfluxDB's partial write: the good lines are stored, the request still fails.
                    _stored.AddRange(lines.Except(bad));
                    if (bad.Count > 0)
                    {
                        throw new HttpException($"partial write: unable to parse '{bad[0]}' dropped={bad.Count}", 400);
                    }
                }

                return Task.CompletedTask;
            }
            finally
            {
                lock (_lock)
                {
                    _attempts++;
                    signal = _attempted;
                    _attempted = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                signal.TrySetResult();
            }
        }
    }
}
