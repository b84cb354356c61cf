namespace SmartCity.Telemetry.Devices;

/// <summary>
/// Envelope fields every payload may carry besides <c>v</c> and <c>ts</c>. A device (or its
/// gateway) that writes its own id into the payload as <c>"device"</c> gets it cross-checked
/// against the topic: a gateway bug or a replayed message of another device then becomes a
/// counted <see cref="RejectReason.IdentityMismatch"/> instead of data stored under the wrong lamp.
/// </summary>
internal static class Envelope
{
    public const string DeviceField = "device";

    /// <summary>False (with the rejection) when the payload names another device than the topic.</summary>
    public static bool TryCheckDevice(JsonPayload json, in DeviceTopic topic, out DecodeResult rejection)
    {
        if (!json.TryGetString(DeviceField, required: false, TopicParser.MaxSegmentLength * 4, out var named, out rejection))
        {
            return false;
        }

        if (named is not null && !string.Equals(named, topic.DeviceId, StringComparison.Ordinal))
        {
            rejection = DecodeResult.Rejected(
                RejectReason.IdentityMismatch,
                $"the payload says device '{JsonPayload.Truncate(named, TopicParser.MaxSegmentLength)}', the topic says '{topic.DeviceId}'");
            return false;
        }

        return true;
    }
}
