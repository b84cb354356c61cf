using System.Buffers;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// One cursor's batch bodies: keeps at most <see cref="Keep"/> arrays of any size, not a few per size class.
/// A full batch (about 1.9 MB for 5,000 street-light lines) is on the large-object heap, and the sink uses at
/// most its writes in flight plus the one being read at once; <see cref="ArrayPool{T}.Create(int, int)"/> kept
/// 4 arrays in every power-of-two size a body passed through on its way to full size (128 KB .. 2 MB), about
/// 8.6 MB after a burst, and rounded each body up to the next power of two (a 1.2 MB body took 2 MB).
/// </summary>
/// <remarks>
/// Rent hands back the smallest kept array that is big enough, else a new one of the size asked, rounded up
/// to <see cref="Granule"/> so a slightly longer batch next time still fits. Return keeps the biggest
/// <see cref="Keep"/> arrays (up to <see cref="MaxKeptBytes"/> each: a body of huge lines is not kept for
/// the worker's life), and lets go of an array more than twice the biggest of the last <see cref="Recent"/>
/// bodies read (<see cref="Observe"/>): once a burst is over and batches are small again, its full-size bodies go back to the garbage
/// collector instead of staying on the large-object heap (at a steady rate every body is about as big, so
/// nothing is dropped and nothing allocated). Thread-safe: the sink reads on one task and ends writes on others.
/// </remarks>
internal sealed class SpoolBodyPool : ArrayPool<byte>
{
    /// <summary>Allocation granule: 64 KB, a few percent of a full body.</summary>
    public const int Granule = 64 * 1024;

    /// <summary>The biggest array kept: twice a full batch of street-light lines, so those are always reused.</summary>
    public const int MaxKeptBytes = 8 * 1024 * 1024;

    /// <summary>How many of the last bodies read say what "big enough" is now: a few batches, so one short batch at max rate does not count.</summary>
    public const int Recent = 8;

    private readonly Lock _lock = new();
    private readonly RecentPeak _recent = new(Recent);
    private byte[]?[] _kept;

    public SpoolBodyPool(int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        _kept = new byte[]?[keep];
    }

    /// <summary>How many arrays are kept at most (<c>Influx:MaxWritesInFlight</c> + 1 for the sink's cursor).</summary>
    public int Keep
    {
        get
        {
            lock (_lock)
            {
                return _kept.Length;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (_lock)
            {
                // The biggest stay: they serve any batch.
                var kept = _kept.Where(a => a is not null).OrderByDescending(a => a!.Length).Take(value).ToList();
                _kept = new byte[]?[value];
                kept.CopyTo(_kept);
            }
        }
    }

    /// <summary>Bytes of the arrays kept now (tests, diagnostics).</summary>
    public long KeptBytes
    {
        get
        {
            lock (_lock)
            {
                return _kept.Sum(a => (long)(a?.Length ?? 0));
            }
        }
    }

    public override byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        lock (_lock)
        {
            var tooBig = TooBigLocked();
            var best = -1;
            for (var i = 0; i < _kept.Length; i++)
            {
                if (_kept[i] is { Length: var length } && length > tooBig)
                {
                    // A burst's body, never rented again at this rate (the smallest that fits is taken): let go of it.
                    _kept[i] = null;
                }
                else if (_kept[i] is { } a && a.Length >= minimumLength && (best < 0 || a.Length < _kept[best]!.Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var array = _kept[best]!;
                _kept[best] = null;
                return array;
            }
        }

        var rounded = (long)minimumLength + Granule - 1 - ((long)minimumLength + Granule - 1) % Granule;
        return new byte[Math.Min(rounded, Array.MaxLength)];
    }

    /// <summary>
    /// A batch's body after a read holds <paramref name="bodyBytes"/>: what the last <see cref="Recent"/> of these say
    /// is big enough now (the body's use, not the rent: a lingering batch rents small and fills a kept array).
    /// </summary>
    public void Observe(int bodyBytes)
    {
        lock (_lock)
        {
            _recent.Record(bodyBytes);
        }
    }

    /// <summary>Arrays longer than this are not kept: more than twice the biggest of the last <see cref="Recent"/> bodies read.</summary>
    private long TooBigLocked() => 2L * Math.Max(Granule, _recent.Max);

    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0 || array.Length > MaxKeptBytes)
        {
            return;
        }

        if (clearArray)
        {
            Array.Clear(array);
        }

        lock (_lock)
        {
            if (array.Length > TooBigLocked())
            {
                return;
            }

            // An empty slot, else the smallest kept one if this is bigger.
            var slot = -1;
            for (var i = 0; i < _kept.Length; i++)
            {
                if (_kept[i] is null)
                {
                    slot = i;
                    break;
                }

                if (_kept[i]!.Length < array.Length && (slot < 0 || _kept[i]!.Length < _kept[slot]!.Length))
                {
                    slot = i;
                }
            }

            if (slot >= 0)
            {
                _kept[slot] = array;
            }
        }
    }
}
