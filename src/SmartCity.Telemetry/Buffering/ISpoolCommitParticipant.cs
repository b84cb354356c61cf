namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// State kept beside the spool that a message changes and that must be on disk before the message is
/// acknowledged: the device registry's journal (a birth acknowledged but forgotten by a crash would
/// leave the device's queued readings quarantined after the restart). The spool's writer calls
/// <see cref="MakeDurable"/> once per group commit, after the records and before the acknowledgements,
/// so a burst of registrations shares the commit's fsync instead of paying one each.
/// </summary>
public interface ISpoolCommitParticipant
{
    /// <summary>What it is, for /healthz and the log when its disk fails (e.g. "device registry journal").</summary>
    string Name { get; }

    /// <summary>The file it writes.</summary>
    string Path { get; }

    /// <summary>
    /// Completes once everything the messages of this commit change has been appended: the alert
    /// state journal waits here for the alert engine to have judged every reading queued so far (it
    /// works on its own thread, behind a queue). Called before <see cref="MakeDurable"/>, each commit.
    /// </summary>
    ValueTask AppendedAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Writes what was appended since the last call, and fsyncs when <paramref name="fsync"/> (the spool's
    /// <c>Spool:Fsync</c>). Cheap when nothing was appended. An I/O exception leaves the appended entries
    /// pending for the next call; the writer then retries and acknowledges nothing meanwhile.
    /// </summary>
    void MakeDurable(bool fsync);
}
