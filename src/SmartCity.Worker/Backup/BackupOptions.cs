using System.ComponentModel.DataAnnotations;

namespace SmartCity.Worker.Backup;

/// <summary>What a backup takes beyond the worker's own state (section <c>Backup</c>).</summary>
public sealed class BackupOptions : IValidatableObject
{
    public const string SectionName = "Backup";

    /// <summary>
    /// The broker's device accounts where the worker can read them (the mosquitto password and ACL files
    /// that smartcity-provision maintains), backed up under <c>accounts/</c>.
    /// </summary>
    /// <value>The default value is none.</value>
    public List<string> DeviceAccountFiles { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < DeviceAccountFiles.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(DeviceAccountFiles[i]) || !File.Exists(DeviceAccountFiles[i]))
            {
                yield return new ValidationResult($"'{DeviceAccountFiles[i]}' is not a readable file", [$"DeviceAccountFiles:{i}"]);
            }
        }

        if (DeviceAccountFiles.Select(Path.GetFileName).Distinct(StringComparer.Ordinal).Count() != DeviceAccountFiles.Count)
        {
            yield return new ValidationResult("two files have the same name; the backup keeps them by name", ["DeviceAccountFiles"]);
        }
    }
}
