using System.Globalization;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>Literals for InfluxQL text, so every query quotes times and strings the same way.</summary>
public static class InfluxQl
{
    /// <summary>RFC 3339 time literal for a WHERE clause (whole seconds, UTC).</summary>
    public static string Time(DateTimeOffset time) => "'" + time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + "'";

    /// <summary>The inside of a single-quoted string literal: a device id can hold a quote or a backslash.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
}
