using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>
/// The registry's journal: every registration, change and removal as one JSON line, appended to
/// <c>registry.json.journal.N</c> beside the registry file, so a crash between two saves of the file
/// forgets nothing that was acknowledged. Appending only fills a buffer (registration stays cheap);
/// <see cref="MakeDurable"/> writes and fsyncs it, once per spool group commit, before the
/// acknowledgements of the messages that caused the entries.
/// </summary>
/// <remarks>
/// A save of the registry file first <see cref="Rotate"/>s: the journal being written is closed
/// (everything in it is already in memory, since the registry changes memory before it journals),
/// a new one takes the appends that follow, and only once the new file is in place are the closed
/// journals deleted. An entry racing with the save therefore lands either in a closed journal (and is
/// in the snapshot) or in the new one (kept and replayed): none is lost between snapshot and truncation.
/// Replaying an entry the snapshot already holds is harmless: each line states a device's whole record.
/// </remarks>
internal sealed class RegistryJournal : IDisposable
{
    private const string Infix = ".journal.";

    private readonly string _registryPath;
    // Appends (the ingest thread, preregistration) take only this, briefly; the disk work holds _io.
    private readonly Lock _append = new();
    private readonly Lock _io = new();
    private readonly Utf8JsonWriter _writer;
    private ArrayBufferWriter<byte> _pending = new(4096);
    private ArrayBufferWriter<byte> _spare = new(4096);
    private FileStream? _stream;
    private long _durableLength;
    private long _sequence;

    public RegistryJournal(string registryPath, long firstSequence)
    {
        _registryPath = registryPath;
        _sequence = firstSequence;
        _writer = new Utf8JsonWriter(_pending);
    }

    /// <summary>The journal appends go to now (it exists once something was made durable in it).</summary>
    public string CurrentPath => PathOf(_registryPath, Interlocked.Read(ref _sequence));

    /// <summary>The journals beside <paramref name="registryPath"/>, oldest first: what a start replays.</summary>
    public static IReadOnlyList<(long Sequence, string Path)> Existing(string registryPath)
    {
        var directory = System.IO.Path.GetDirectoryName(registryPath)!;
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var prefix = System.IO.Path.GetFileName(registryPath) + Infix;
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

    public static string PathOf(string registryPath, long sequence) =>
        registryPath + Infix + sequence.ToString(CultureInfo.InvariantCulture);

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
    /// one: the journals up to it may be deleted once a registry file saved after this call is in place.
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

    /// <summary>Deletes the journals up to <paramref name="sequence"/>: a saved registry file holds all they said.</summary>
    public void DeleteThrough(long sequence)
    {
        foreach (var (number, path) in Existing(_registryPath))
        {
            if (number <= sequence)
            {
                File.Delete(path);
            }
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
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_registryPath)!);
            }

            // Shares the file with a reader (a backup, a test); never with another writer, since each registry has its own file.
            _stream ??= new FileStream(CurrentPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
            if (_stream.Length != _durableLength)
            {
                // A failed write left part of itself: cut back to the last whole line.
                _stream.SetLength(_durableLength);
            }

            _stream.Position = _durableLength;
            _stream.Write(taken.WrittenSpan);
            _stream.Flush(flushToDisk: fsync);
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
