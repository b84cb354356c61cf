using System.Buffers;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>
/// Birth messages and last wills on <c>.../{deviceId}/status</c> (docs/device-contract.md, "Status"),
/// for every device type that has a profile. A birth names the profile, firmware and location; a
/// will says <c>"online": false</c>. Both become <c>device_status</c> points.
/// </summary>
public sealed class StatusDecoder(DeviceProfile profile, ProfileSet profiles, DecodingOptions options) : IDeviceDecoder
{
    public const string Measurement = "device_status";

    /// <summary>The field of a cleared birth: <c>removed=true</c> (with <c>online=false</c>).</summary>
    public const string RemovedField = "removed";

    public string DeviceType => profile.DeviceType;

    public string Sector => profile.Sector;

    public MessageKind Kind => MessageKind.Status;

    private int MaxDepth => options.MaxJsonDepth;

    /// <remarks>
    /// A zero-length payload is how MQTT clears a retained message: whoever removes a device clears
    /// its retained birth. It is not malformed JSON but the device's decommissioning, stored as
    /// <c>online=false,removed=true</c> at the time of receipt.
    /// </remarks>
    public DecodeResult Decode(in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt) =>
        payload.IsEmpty
            ? DecodeResult.Accepted(Point.ForDevice(Measurement, receivedAt, topic).Field("online", false).Field(RemovedField, true))
            : JsonPayload.Decode(payload, MaxDepth, (Self: this, Topic: topic, ReceivedAt: receivedAt), static (s, json) => s.Self.Decode(s.Topic, json, s.ReceivedAt));

    /// <summary>The point is a cleared birth (the device was decommissioned).</summary>
    public static bool IsRemoval(Point point) => point.GetField(RemovedField) is { Boolean: true };

    private DecodeResult Decode(in DeviceTopic topic, JsonPayload json, DateTimeOffset receivedAt)
    {
        if (!json.TryGetInteger("v", 1, 1, required: true, out _, out var rejection)
            || !json.TryGetBoolean("online", required: true, out var online, out rejection))
        {
            return rejection.Reason == RejectReason.OutOfRange
                ? DecodeResult.Rejected(RejectReason.UnsupportedVersion, "'v' must be 1 for status messages")
                : rejection;
        }

        // A last will is composed when the device connects and sent by the broker later: its time is the time of receipt.
        var ts = receivedAt;
        if ((online!.Value || json.Has("ts")) && !json.TryGetTimestamp("ts", receivedAt, options.MaxMessageAge, options.MaxClockSkew, out ts, out rejection))
        {
            return rejection;
        }

        if (!Envelope.TryCheckDevice(json, topic, out rejection))
        {
            return rejection;
        }

        var point = Point.ForDevice(Measurement, ts, topic).Field("online", online.Value);
        return online.Value ? DecodeBirth(topic, json, point) : DecodeResult.Accepted(point);
    }

    /// <summary>A birth (online): names its profile, and may give firmware, position, district, site and parent.</summary>
    private DecodeResult DecodeBirth(in DeviceTopic topic, JsonPayload json, Point point)
    {
        DecodeResult rejection;
        if (!json.TryGetString("profile", required: true, 64, out var profileId, out rejection)
            || !json.TryGetString("firmware", required: false, 64, out var firmware, out rejection)
            || !json.TryGetNumber("lat", -90, 90, required: false, out var lat, out rejection)
            || !json.TryGetNumber("lon", -180, 180, required: false, out var lon, out rejection)
            || !json.TryGetString("district", required: false, 64, out var district, out rejection)
            || !json.TryGetString("site", required: false, 64, out var site, out rejection)
            || !json.TryGetString("parent", required: false, 64, out var parent, out rejection))
        {
            return rejection;
        }

        if (parent is not null && (!TopicParser.IsValidSegment(parent) || parent == topic.DeviceId))
        {
            return DecodeResult.Rejected(RejectReason.OutOfRange, $"'parent' \"{JsonPayload.Truncate(parent, 64)}\" must be another device's id (letters, digits, '_', '-', '.')");
        }

        var named = profiles.Find(profileId!);
        if (named is null)
        {
            return DecodeResult.Rejected(RejectReason.UnknownDeviceType, $"'profile' \"{JsonPayload.Truncate(profileId!, 40)}\" is not a known device profile");
        }

        if (named.DeviceType != topic.DeviceType)
        {
            return DecodeResult.Rejected(RejectReason.IdentityMismatch, $"profile '{named.Id}' is for device type '{named.DeviceType}', the topic says '{topic.DeviceType}'");
        }

        if ((district is not null && district != topic.District) || (site is not null && site != topic.Site))
        {
            return DecodeResult.Rejected(RejectReason.IdentityMismatch, $"the birth message says district '{JsonPayload.Truncate(district ?? topic.District, 64)}', site '{JsonPayload.Truncate(site ?? topic.Site, 64)}'; the topic says '{topic.District}', '{topic.Site}'");
        }

        point.Field("profile", named.Id);
        if (firmware is not null)
        {
            point.Field("firmware", firmware);
        }

        if (lat is { } la && lon is { } lo)
        {
            point.Field("lat", la).Field("lon", lo);
        }

        if (parent is not null)
        {
            point.Field("parent", parent);
        }

        return DecodeResult.Accepted(point);
    }
}
