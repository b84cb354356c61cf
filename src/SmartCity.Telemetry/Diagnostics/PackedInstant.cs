namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// An instant kept per device (100,000 in a city) as its ticks and its offset in whole minutes, in two fields the
/// holder lays out itself (a struct of both would be padded to 16 bytes): the same value as a
/// <see cref="DateTimeOffset"/> (16 bytes) or a nullable one (24), offset included. <see cref="None"/> as the
/// offset: no instant.
/// </summary>
internal static class PackedInstant
{
    public const short None = short.MinValue;

    public static DateTimeOffset? Unpack(long ticks, short offsetMinutes) =>
        offsetMinutes == None ? null : new DateTimeOffset(ticks, TimeSpan.FromMinutes(offsetMinutes));

    // An offset is whole minutes within +-14 h (DateTimeOffset's own rule), so it fits a short.
    public static (long Ticks, short OffsetMinutes) Pack(DateTimeOffset? value) =>
        value is { } v ? (v.Ticks, (short)(v.Offset.Ticks / TimeSpan.TicksPerMinute)) : (0, None);
}
