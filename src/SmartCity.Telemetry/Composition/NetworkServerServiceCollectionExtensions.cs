using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices.NetworkServers;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Composition;

/// <summary>
/// LoRaWAN network servers on the same pipeline as every device: their uplinks are decoded by the
/// ingest stage's decoder (<see cref="NetworkUplinkDecoder"/>), nothing else is added. Mapping files are
/// checked with the settings; their devices are registered; their topics subscribed to.
/// </summary>
public static class NetworkServerServiceCollectionExtensions
{
    public static IServiceCollection AddNetworkServers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NetworkServerOptions>().Bind(configuration.GetSection(NetworkServerOptions.SectionName));
        services.AddSingleton<IPayloadDecoderPlugin, ElsysCodec>();
        services.AddSingleton<IPayloadDecoderPlugin, MilesightWs558Codec>();
        services.TryAddSingleton<NetworkServerMetrics>();
        services.TryAddSingleton(sp => NetworkMappingLoader.Load(
            sp.GetRequiredService<IOptions<NetworkServerOptions>>().Value.Directory,
            sp.GetRequiredService<ProfileSet>(),
            [.. sp.GetServices<IPayloadDecoderPlugin>().Select(p => p.Name)]));
        services.AddSingleton(new ConfigurationCheck(sp => sp.GetRequiredService<NetworkMappings>().Errors.Select(e => "NetworkServers: " + e)));
        services.TryAddSingleton<NetworkUplinkDecoder>();
        services.TryAddSingleton(sp =>
        {
            var registry = ActivatorUtilities.CreateInstance<DeviceRegistry>(sp);
            registry.Preregister(sp.GetRequiredService<NetworkMappings>().Devices.Select(d => (d.Topic, d.Profile.Id)));
            return registry;
        });
        services.AddSingleton<IPostConfigureOptions<MqttSourceOptions>>(sp => new NetworkSubscriptions(sp));
        return services;
    }

    /// <summary>Adds the mapped network servers' topic filters, unless a configured filter already covers them (no message twice).</summary>
    internal sealed class NetworkSubscriptions(IServiceProvider services) : IPostConfigureOptions<MqttSourceOptions>
    {
        public void PostConfigure(string? name, MqttSourceOptions options)
        {
            var mappings = services.GetRequiredService<NetworkMappings>();
            options.Subscriptions = WithFilters(options.Subscriptions, mappings.TopicFilters);
        }

        /// <remarks>
        /// Workers that share the load subscribe as one group (<c>$share/g/city/#</c>): the network topics
        /// join the same group, or every worker would store every uplink.
        /// </remarks>
        public static string[] WithFilters(string[] configured, IEnumerable<string> filters)
        {
            var groups = configured.Select(c => SharePrefix(c)).Distinct(StringComparer.Ordinal).ToList();
            var share = groups.Count == 1 ? groups[0] : "";
            return [.. configured, .. filters.Distinct(StringComparer.Ordinal).Where(f => !configured.Any(c => Covers(c[SharePrefix(c).Length..], f))).Select(f => share + f)];
        }

        private static string SharePrefix(string filter)
        {
            if (!filter.StartsWith("$share/", StringComparison.Ordinal))
            {
                return "";
            }

            var end = filter.IndexOf('/', "$share/".Length);
            return end < 0 ? "" : filter[..(end + 1)];
        }

        /// <summary>Whether every topic <paramref name="filter"/> matches is matched by <paramref name="existing"/> (for the filters we add: exact or a <c>#</c> parent).</summary>
        public static bool Covers(string existing, string filter) =>
            existing == filter || existing == "#" || (existing.EndsWith("/#", StringComparison.Ordinal) && filter.StartsWith(existing[..^1], StringComparison.Ordinal));
    }
}
