using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// A journal beside a state file that is saved as a whole only now and then (the device registry's
/// <c>registry.json</c>, the alert state's <c>alerts.json</c>): every change as one JSON line, appended
/// to <c>{file}.journal.N</c>, so a crash between two saves of the file forgets nothing that was
/// acknowledged. Appending only fills a buffer (cheap on the hot path); <see cref="MakeDurable"/> writes
/// and fsyncs it, once per spool group commit (<see cref="ISpoolCommitParticipant"/>), before the
/// acknowledgements of the messages that caused the entries.
/// </summary>
/// <remarks>
/// A save of the file first <see cref="Rotate"/>s: the journal being written is closed (everything in
/// it is already in memory, since the owner changes memory before it journals), a new one takes the
/// appends that follow, and only once the new file is in place are the closed journals deleted. An
/// entry racing with the save therefore lands either in a closed journal (and is in the snapshot) or
/// in the new one (kept and replayed): none is lost between snapshot and truncation. Replaying an
/// entry the snapshot already holds is harmless: each line states a whole record.
/// Shared by the registry and the alert state (extracted from the registry's), so both rotate alike.
/// </remarks>
internal sealed class CommitJournal : IDisposable
{
    private const string Infix = ".journal.";

    private readonly string _filePath;
    // Appends (the ingest thread, preregistration) take only this, briefly; the disk work holds _io.
    private readonly Lock _append = new();
    private readonly Lock _io = new();
    private readonly Utf8JsonWriter _writer;
    private ArrayBufferWriter<byte> _pending = new(4096);
    private ArrayBufferWriter<byte> _spare = new(4096);
    private FileStream? _stream;
    // False from the opening of a journal file until the directory is fsynced after it: the entry naming a new file is itself a write to make durable.
    private bool _directorySynced;
    private long _durableLength;
    private long _sequence;

    public CommitJournal(string filePath, long firstSequence)
    {
        _filePath = filePath;
        _sequence = firstSequence;
        _writer = new Utf8JsonWriter(_pending);
    }

    /// <summary>The journal appends go to now (it exists once something was made durable in it).</summary>
    public string CurrentPath => PathOf(_filePath, Interlocked.Read(ref _sequence));

    /// <summary>The journals beside <paramref name="filePath"/>, oldest first: what a start replays.</summary>
    public static IReadOnlyList<(long Sequence, string Path)> Existing(string filePath)
    {
        var directory = System.IO.Path.GetDirectoryName(filePath)!;
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var prefix = System.IO.Path.GetFileName(filePath) + Infix;
        var found = new List<(long, string)>();
        foreach (var file in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            if (long.TryParse(System.IO.Path.GetFileName(file).AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                found.Add((sequence, file));
            }
        }

        return [.. found.OrderBy(f => f.Item1)];
    }

    /// <summary>One line of a journal, handed to its owner to apply; throws <see cref="JsonException"/> or <see cref="InvalidDataException"/> when unreadable.</summary>
    public delegate void LineReader(ReadOnlySpan<byte> line);

    /// <summary>
    /// At start, after the file is read: every journal beside <paramref name="filePath"/>, oldest first,
    /// line by line through <paramref name="apply"/>; <paramref name="replayed"/> hears each file's
    /// applied and skipped counts. Returns the last journal's sequence (0 when there was none): the
    /// owner's new journal is the next one.
    /// </summary>
    public static long Replay(string filePath, LineReader apply, Action<string, int, int> replayed)
    {
        long last = 0;
        foreach (var (sequence, file) in Existing(filePath))
        {
            var (applied, skipped) = ReadLines(File.ReadAllBytes(file), apply);
            replayed(file, applied, skipped);
            last = sequence;
        }

        return last;
    }

    private static (int Applied, int Skipped) ReadLines(ReadOnlySpan<byte> bytes, LineReader apply)
    {
        int applied = 0, skipped = 0;
        while (!bytes.IsEmpty)
        {
            var end = bytes.IndexOf((byte)'\n');
            var line = end < 0 ? bytes : bytes[..end];
            bytes = end < 0 ? [] : bytes[(end + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            try
            {
                apply(line);
                applied++;
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException)
            {
                // A crash while the line was written (it was never acknowledged): skipped and counted.
                skipped++;
            }
        }

        return (applied, skipped);
    }

    public static string PathOf(string filePath, long sequence) =>
        filePath + Infix + sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Appends one entry (written by <paramref name="write"/> as a JSON object) to the buffer; nothing touches the disk.</summary>
    public void Append<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        lock (_append)
        {
            _writer.Reset(_pending);
            write(_writer, state);
            _writer.Flush();
            _pending.Write("\n"u8);
        }
    }

    /// <summary>True while entries wait in the buffer.</summary>
    public bool HasPending
    {
        get
        {
            lock (_append)
            {
                return _pending.WrittenCount > 0;
            }
        }
    }

    /// <summary>
    /// Writes the buffered entries to the current journal and fsyncs it (when <paramref name="fsync"/>).
    /// On an I/O error the entries stay buffered, ahead of any appended meanwhile, and what part of
    /// them reached the file is cut off at the next try.
    /// </summary>
    public void MakeDurable(bool fsync)
    {
        lock (_io)
        {
            WriteLocked(fsync);
        }
    }

    /// <summary>
    /// Closes the current journal durably and starts the next one. Returns the sequence of the closed
    /// one: the journals up to it may be deleted once a state file saved after this call is in place.
    /// </summary>
    public long Rotate()
    {
        lock (_io)
        {
            WriteLocked(fsync: true);
            _stream?.Dispose();
            _stream = null;
            _durableLength = 0;
            return Interlocked.Increment(ref _sequence) - 1;
        }
    }

    /// <summary>Deletes the journals up to <paramref name="sequence"/>: a saved state file holds all they said.</summary>
    public void DeleteThrough(long sequence)
    {
        var deleted = false;
        foreach (var (number, path) in Existing(_filePath))
        {
            if (number <= sequence)
            {
                File.Delete(path);
                deleted = true;
            }
        }

        if (deleted)
        {
            // Made durable like the save's rename: a deletion lost at a power loss brings back a journal older than the file.
            StateFile.SyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_filePath))!);
        }
    }

    private void WriteLocked(bool fsync)
    {
        ArrayBufferWriter<byte> taken;
        lock (_append)
        {
            if (_pending.WrittenCount == 0)
            {
                return;
            }

            taken = _pending;
            _pending = _spare;
            _spare = taken;
        }

        try
        {
            if (_stream is null)
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_filePath)!);
                // Shares the file with a reader (a backup, a test); never with another writer, since each state file has one owner.
                _stream = new FileStream(CurrentPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
                _directorySynced = false;
            }

            if (_stream.Length != _durableLength)
            {
                // A failed write left part of itself: cut back to the last whole line.
                _stream.SetLength(_durableLength);
            }

            _stream.Position = _durableLength;
            _stream.Write(taken.WrittenSpan);
            _stream.Flush(flushToDisk: fsync);
            if (fsync)
            {
                SyncDirectoryOnce();
            }

            _durableLength += taken.WrittenCount;
            taken.ResetWrittenCount();
        }
        catch
        {
            lock (_append)
            {
                // Not written: back in front of what was appended meanwhile, in order.
                taken.Write(_pending.WrittenSpan);
                _pending.ResetWrittenCount();
                _spare = _pending;
                _pending = taken;
            }

            _stream?.Dispose();
            _stream = null;
            throw;
        }
    }

    /// <summary>
    /// Once per journal file (a rotation starts the next), not per commit: an fsynced file in a directory
    /// whose new entry is not durable can vanish whole at a power loss.
    /// </summary>
    private void SyncDirectoryOnce()
    {
        if (!_directorySynced)
        {
            StateFile.SyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(CurrentPath))!);
            _directorySynced = true;
        }
    }

    public void Dispose()
    {
        lock (_io)
        {
            _stream?.Dispose();
            _stream = null;
        }

        _writer.Dispose();
    }
}
