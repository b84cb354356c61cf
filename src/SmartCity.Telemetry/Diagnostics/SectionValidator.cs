using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// Validates an options class with its DataAnnotations (and <see cref="IValidatableObject"/> for
/// cross-field rules) and reports every failure with the full configuration key, for example
/// <c>Mqtt:Port</c>, so an operator knows which setting (or <c>SMARTCITY_Mqtt__Port</c> variable) to fix.
/// </summary>
public sealed class SectionValidator<TOptions>(string sectionName) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var results = new List<ValidationResult>();
        var context = new ValidationContext(options);
        if (Validator.TryValidateObject(options, context, results, validateAllProperties: true))
        {
            return ValidateOptionsResult.Success;
        }

        var failures = results.Select(r =>
        {
            var members = r.MemberNames.Any() ? r.MemberNames : [""];
            return string.Join("; ", members.Select(m => $"{sectionName}{(m.Length > 0 ? ":" + m : "")}: {r.ErrorMessage}"));
        });
        return ValidateOptionsResult.Fail(failures);
    }
}
