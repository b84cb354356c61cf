namespace SmartCity.Telemetry.Devices.Profiles;

/// <summary>Where integrators put their own device profiles.</summary>
public sealed class ProfilesOptions
{
    public const string SectionName = "Profiles";

    /// <summary>
    /// A folder of extra profile files (<c>*.json</c>, searched recursively; <c>golden/</c> folders are
    /// skipped), read at start. A wrong file is refused with its problems logged; the others work.
    /// </summary>
    /// <value>The default value is none: the built-in profiles only.</value>
    public string? Directory { get; set; }
}
