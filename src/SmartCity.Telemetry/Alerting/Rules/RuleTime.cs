using System.Globalization;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>Clock helpers the evaluators and the engine share.</summary>
public static class RuleTime
{
    /// <summary>
    /// Silent for <paramref name="limit"/> on the stream's device time: the device's last message
    /// (its device time, or when it arrived if its clock runs ahead) is that far behind
    /// <paramref name="deviceNow"/>. Messages of a device still queued behind a backlog are not
    /// silence: the stream has not reached past them yet.
    /// </summary>
    public static bool SilentInDeviceTime(DateTimeOffset? lastDeviceTime, DateTimeOffset lastReceivedAt, DateTimeOffset deviceNow, TimeSpan limit)
    {
        var last = lastDeviceTime is { } t && t < lastReceivedAt ? t : lastReceivedAt;
        return deviceNow - last >= limit;
    }

    public static string Format(TimeSpan span) => span.ToString(span.TotalDays >= 1 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
