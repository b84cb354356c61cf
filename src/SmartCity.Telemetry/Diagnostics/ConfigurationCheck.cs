using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>Binds and validates one options section, returning every problem instead of throwing at the first.</summary>
public sealed class ConfigurationCheck(Func<IServiceProvider, IEnumerable<string>> check)
{
    public IEnumerable<string> Run(IServiceProvider services) => check(services);

    public static ConfigurationCheck For<TOptions>()
        where TOptions : class => new(services =>
        {
            try
            {
                _ = services.GetRequiredService<IOptions<TOptions>>().Value;
                return [];
            }
            catch (OptionsValidationException ex)
            {
                return ex.Failures;
            }
            catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
            {
                // The binder's message names the key and the value: "... value 'abc' at 'Mqtt:Port' to type ...".
                return [ex.Message];
            }
        });

    /// <summary>Every configuration problem of the registered components, in registration order.</summary>
    public static IReadOnlyList<string> ValidateAll(IServiceProvider services) =>
        [.. services.GetServices<ConfigurationCheck>().SelectMany(c => c.Run(services))];
}

/// <summary>
/// Registered before every other hosted service: the host constructs hosted services in order, so
/// this one reports all configuration problems together before any component reads its options
/// (and before anything connects).
/// </summary>
internal sealed class ConfigurationCheckService : IHostedService
{
    public ConfigurationCheckService(IServiceProvider services)
    {
        var failures = ConfigurationCheck.ValidateAll(services);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException("SmartCity", typeof(ConfigurationCheckService), failures);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
