using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Devices;

/// <summary>Limits applied to every incoming message before and while it is decoded.</summary>
public sealed class DecodingOptions : IValidatableObject
{
    public const string SectionName = "Decoding";

    /// <summary>The sectors every city has; <see cref="Sectors"/> starts with them.</summary>
    public static readonly IReadOnlyList<string> DefaultSectors = ["lighting", "education", "security"];

    /// <summary>
    /// Public services whose devices are accepted (the topic's <c>{sector}</c> segment): data, not
    /// code, so a city adds <c>waste</c> or <c>parking</c> in configuration. Each name obeys the topic
    /// segment alphabet. Configured, the list is taken whole, so list the defaults too.
    /// </summary>
    /// <value>
    /// When none is configured, <see cref="DefaultSectors"/> (lighting, education, security); see
    /// <see cref="EffectiveSectors"/>. The initial value is empty because the configuration binder appends
    /// configured array items to it: a default list here would be doubled by a configuration that lists it.
    /// </value>
    public string[] Sectors { get; set; } = [];

    /// <summary>The sectors in force: <see cref="Sectors"/>, or the defaults when none is configured.</summary>
    public IReadOnlyList<string> EffectiveSectors => Sectors is { Length: > 0 } configured ? configured : DefaultSectors;

    /// <summary>Topic root in front of <c>{sector}/...</c>; one or more segments.</summary>
    /// <value>The default value is <c>city</c>.</value>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$", ErrorMessage = "must be topic segments of [A-Za-z0-9_.-] separated by '/', without wildcards")]
    public string TopicRoot { get; set; } = "city";

    /// <summary>Largest payload decoded; larger ones are rejected as <see cref="RejectReason.PayloadTooLarge"/>.</summary>
    /// <value>The default value is 65536 bytes.</value>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>Deepest JSON nesting accepted; device payloads are flat, deep nesting is hostile.</summary>
    /// <value>The default value is 8.</value>
    [Range(2, 64)]
    public int MaxJsonDepth { get; set; } = 8;

    /// <summary>How far in the future a device timestamp may be (device clocks drift).</summary>
    /// <value>The default value is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How old a device timestamp may be (stored backlogs from a device that was offline).</summary>
    /// <value>The default value is 30 days.</value>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan MaxMessageAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Longest topic segment (district, site, device id...). Segments become InfluxDB tags and ACL
    /// usernames; the alphabet stays fixed (<c>A-Z a-z 0-9 _ - .</c>: nothing that needs escaping), the
    /// length can only be tightened.
    /// </summary>
    /// <value>The default value is 64 characters.</value>
    [Range(8, TopicParser.MaxSegmentLength)]
    public int MaxTopicSegmentLength { get; set; } = TopicParser.MaxSegmentLength;

    /// <summary>
    /// Longest string field stored, whatever a profile allows (a profile's <c>maxLength</c> can only
    /// be tightened by it): the cap on what one message can put into the database as text.
    /// </summary>
    /// <value>The default value is 1024 characters.</value>
    [Range(16, 65536)]
    public int MaxStringLength { get; set; } = 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var sector in EffectiveSectors)
        {
            if (!TopicParser.IsValidSegment(sector) || sector.Length > MaxTopicSegmentLength)
            {
                yield return new ValidationResult($"sector '{sector}' must be 1..{MaxTopicSegmentLength} characters of [a-z A-Z 0-9 _ . -]", [nameof(Sectors)]);
            }
        }

        if (EffectiveSectors.Distinct(StringComparer.Ordinal).Count() != EffectiveSectors.Count)
        {
            yield return new ValidationResult("sectors must not repeat", [nameof(Sectors)]);
        }
    }
}
