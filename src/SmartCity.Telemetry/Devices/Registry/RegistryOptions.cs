using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>The device registry: who announced itself, with which profile, where, and when it was last heard.</summary>
public sealed class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>File the registry is kept in across restarts (written atomically, at most once per <see cref="SaveInterval"/>; its journal beside it).</summary>
    /// <value>The default value is <c>data/registry.json</c>.</value>
    [Required]
    public string File { get; set; } = "data/registry.json";

    /// <summary>
    /// How often the file is rewritten while births or wills change the registry (and once more at
    /// a graceful stop). Each save writes every device, about 300 bytes each, so with 100,000 devices
    /// a shorter interval costs disk and CPU during a birth storm. A change made since the last save is
    /// not lost by a crash: it is in the journal beside the file (<c>registry.json.journal.N</c>, made
    /// durable before the message that caused it is acknowledged), replayed at start and deleted by the next save.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Telemetry and events are stored only from devices that sent a birth message; others are
    /// quarantined (counted, listed, dead-lettered as <c>UnknownDevice</c>). Turn off only while
    /// migrating a fleet whose devices cannot send births yet.
    /// </summary>
    /// <value>The default value is <c>true</c>.</value>
    public bool RequireBirth { get; set; } = true;

    /// <summary>
    /// The city's device count, when known (0: not known). The registry, the alert engine and lighting
    /// then size their per-device maps for it once at start, instead of growing them by doubling during
    /// the first birth storm: each growth copied every entry into arrays twice as big and left the old
    /// ones as garbage on the large-object heap, and 100,000 devices ended in maps of 156,437 slots.
    /// A city that grows past it still works (the maps grow as before). The registry file's own count is
    /// used when it is larger.
    /// </summary>
    /// <value>The default value is 0 (not known: the maps start small and grow).</value>
    [Range(0, 10_000_000)]
    public int ExpectedDevices { get; set; }
}
