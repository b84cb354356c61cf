namespace SmartCity.Telemetry.Devices;

/// <summary>Why a message was not stored as telemetry. Names are stable: they are metric tags and API values.</summary>
public enum RejectReason
{
    InvalidTopic,
    UnknownDeviceType,
    UnsupportedMessageKind,
    PayloadTooLarge,
    MalformedJson,
    UnsupportedVersion,
    MissingField,
    WrongType,
    OutOfRange,
    InvalidTimestamp,
    /// <summary>Telemetry or events from a device that has not announced itself (no birth message): quarantined.</summary>
    UnknownDevice,
    /// <summary>The topic or payload contradicts what the device announced (another district, site, type or profile).</summary>
    IdentityMismatch,
}

/// <summary>
/// The outcome of decoding one message: a point to store, or a rejection with a reason and a
/// human-readable detail. Decoding never throws for bad input.
/// </summary>
public readonly struct DecodeResult
{
    private DecodeResult(Point? point, RejectReason reason, string detail)
    {
        Point = point;
        Reason = reason;
        Detail = detail;
    }

    public Point? Point { get; }

    public RejectReason Reason { get; }

    public string Detail { get; }

    public bool IsAccepted => Point is not null;

    public static DecodeResult Accepted(Point point) => new(point, default, "");

    public static DecodeResult Rejected(RejectReason reason, string detail) => new(null, reason, detail);

    public override string ToString() => IsAccepted ? $"accepted {Point}" : $"rejected {Reason}: {Detail}";
}
