using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>The device registry: who announced itself, with which profile, where, and when it was last heard.</summary>
public sealed class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>File the registry is kept in across restarts (written atomically, at most once a second).</summary>
    /// <value>The default value is <c>data/registry.json</c>.</value>
    [Required]
    public string File { get; set; } = "data/registry.json";

    /// <summary>
    /// Telemetry and events are stored only from devices that sent a birth message; others are
    /// quarantined (counted, listed, dead-lettered as <c>UnknownDevice</c>). Turn off only while
    /// migrating a fleet whose devices cannot send births yet.
    /// </summary>
    /// <value>The default value is <c>true</c>.</value>
    public bool RequireBirth { get; set; } = true;
}
