using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The state a message changes besides its record (<see cref="ISpoolCommitParticipant"/>) rides on the
/// same group commit: made durable after the batch's records and before its acknowledgements.
/// </summary>
internal sealed partial class SpoolWriter
{
    private readonly ISpoolCommitParticipant[] _participants;

    /// <summary>
    /// Every participant durable, or this waits: a failed write (disk full, I/O error) acknowledges
    /// nothing, is shown in /healthz, and is retried, as a failed append is; intake pauses meanwhile
    /// (the MQTT handler waits on the bounded queue).
    /// </summary>
    private async Task CommitParticipantsAsync(CancellationToken cancellationToken)
    {
        foreach (var participant in _participants)
        {
            await participant.AppendedAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                try
                {
                    participant.MakeDurable(_options.Fsync);
                    if (_disk.Recovered(participant.Name))
                    {
                        LogParticipantWritable(participant.Name, participant.Path);
                    }

                    break;
                }
                catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
                {
                    _metrics.SpoolStage.Error("disk");
                    if (_disk.Failed(participant.Name, participant.Path, ex, _time.GetUtcNow()))
                    {
                        var problem = DiskHealth.Describe(ex);
                        LogParticipantFailing(participant.Name, participant.Path, problem, ex);
                    }
                }

                await Task.Delay(DiskRetry, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 3014, Level = LogLevel.Critical, Message = "The {Name} cannot be written to {Path} ({Problem}): no message is acknowledged until it can (they wait in the broker's session); retrying")]
    private partial void LogParticipantFailing(string name, string path, string problem, Exception error);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "The {Name} is written to {Path} again: acknowledging messages")]
    private partial void LogParticipantWritable(string name, string path);
}
