using System.Text.Json;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>
/// The registry's crash durability: each registration, change and removal goes to the journal
/// (<see cref="CommitJournal"/>) as it happens, and the spool makes the journal durable in the same
/// group commit as the message that caused it, before that message's acknowledgement. A start reads
/// the file, then replays the journals; a save of the file rotates them.
/// </summary>
public sealed partial class DeviceRegistry : ISpoolCommitParticipant
{
    private const string JournalComponent = "device registry journal";

    private CommitJournal _journal = null!;
    private long _journalLinesSkipped;

    /// <summary>Journal lines that could not be read at start (a line torn by a crash mid-write), skipped.</summary>
    public long JournalLinesSkipped => Interlocked.Read(ref _journalLinesSkipped);

    string ISpoolCommitParticipant.Name => JournalComponent;

    string ISpoolCommitParticipant.Path => _journal.CurrentPath;

    /// <summary>Writes (and fsyncs) the registrations journaled since the last call: the spool calls it before acknowledging.</summary>
    void ISpoolCommitParticipant.MakeDurable(bool fsync) => _journal.MakeDurable(fsync);

    /// <summary>Called at a test's chosen moment of a save: after the new file is in place, before the old journals go.</summary>
    internal Action? SnapshotWritten { get; set; }

    private void JournalPut(string deviceId)
    {
        if (!_devices.TryGetValue(deviceId, out var entry) || !entry.Registered)
        {
            // A will from a device never born is not registered (nor written to the file).
            return;
        }

        _journal.Append(entry, static (w, e) =>
        {
            w.WriteStartObject();
            w.WriteString(JournalNames.Op, JournalNames.Put);
            w.WritePropertyName(JournalNames.Device);
            e.Write(w);
            w.WriteEndObject();
        });
    }

    private void JournalRemove(string deviceId) =>
        _journal.Append(deviceId, static (w, id) =>
        {
            w.WriteStartObject();
            w.WriteString(JournalNames.Op, JournalNames.Remove);
            w.WriteString(Names.DeviceId, id);
            w.WriteEndObject();
        });

    /// <summary>Preregistration has no message to ride along with: its entries are made durable at once.</summary>
    private void MakeJournalDurableNow()
    {
        try
        {
            _journal.MakeDurable(fsync: true);
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            // Still buffered: the next spool commit or save writes them; the mapping registers them again at the next start anyway.
            _disk.Failed(JournalComponent, _journal.CurrentPath, ex, _time.GetUtcNow());
            var problem = DiskHealth.Describe(ex);
            LogJournalWriteFailed(_journal.CurrentPath, problem);
        }
    }

    /// <summary>After the file is read: every journal beside it, oldest first, applied on top; then a new journal is started.</summary>
    private CommitJournal ReplayJournals()
    {
        var path = Path.GetFullPath(_options.File);
        var last = CommitJournal.Replay(
            path,
            line => Apply(JsonSerializer.Deserialize<JournalLine>(line, Json)),
            (file, applied, skipped) =>
            {
                _journalLinesSkipped += skipped;
                LogJournalReplayed(file, applied, skipped);
            });
        if (last > 0)
        {
            // The next save writes what they said into the file, then deletes them.
            _dirty = 1;
        }

        return new CommitJournal(path, last + 1);
    }

    private void Apply(JournalLine? line)
    {
        switch (line)
        {
            case { Op: "put", Device: { } d }:
                // Telemetry moves last-seen without a journal entry: the file may know a later one.
                _devices[d.DeviceId] = EntryOf(_devices.TryGetValue(d.DeviceId, out var known) && known.LastSeenTicks > d.LastSeenTicks
                    ? d with { LastSeen = new DateTimeOffset(known.LastSeenTicks, TimeSpan.Zero) }
                    : d);
                break;
            case { Op: "remove", DeviceId: { } id }:
                _devices.TryRemove(id, out _);
                break;
            default:
                throw new InvalidDataException("not a registry journal entry");
        }
    }

    private sealed record JournalLine(string? Op, DeviceRecord? Device, string? DeviceId);

    private static class JournalNames
    {
        public static readonly JsonEncodedText Op = JsonEncodedText.Encode("op");
        public static readonly JsonEncodedText Put = JsonEncodedText.Encode("put");
        public static readonly JsonEncodedText Remove = JsonEncodedText.Encode("remove");
        public static readonly JsonEncodedText Device = JsonEncodedText.Encode("device");
    }

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Device registry journal {Path} replayed: {Applied} entries applied, {Skipped} unreadable lines skipped (a line torn by a crash was never acknowledged)")]
    private partial void LogJournalReplayed(string path, int applied, int skipped);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Device registry journal {Path} cannot be written ({Problem}); retried at the next commit or save")]
    private partial void LogJournalWriteFailed(string path, string problem);
}
