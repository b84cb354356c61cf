namespace SmartCity.Telemetry.Devices;

/// <summary>What the pipeline does with one incoming message.</summary>
public enum DecodeStatus
{
    Accepted,
    Rejected,
    /// <summary>Not for the worker (commands to devices on the shared wildcard); counted, not stored.</summary>
    Ignored,
}

public readonly record struct DecodeOutcome(DecodeStatus Status, DecodeResult Result, DeviceTopic? Topic);
