namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>Where network-server messages arrive: a topic prefix of one network server's shape, or an exact Pub/Sub topic.</summary>
public sealed record NetworkRoute(string Network, string Prefix);

/// <summary>A Pub/Sub topic: the application it carries and the event (<c>up</c> or <c>join</c>).</summary>
public sealed record PubSubRoute(string Network, string Application, string Event);

/// <summary>
/// The mapping files in force, indexed for the decoder (device by DevEUI or network device id) and for
/// the MQTT source (the topic filters to subscribe to). Empty when no mapping is configured: then no
/// network-server topic is subscribed to and the decoder sees none.
/// </summary>
public sealed class NetworkMappings
{
    private readonly Dictionary<(string Network, string Application, string Key), MappedDevice> _byKey = [];

    public NetworkMappings(IReadOnlyList<MappedDevice> devices, IReadOnlyList<NetworkRoute> routes, IReadOnlyDictionary<string, PubSubRoute> pubSub, IReadOnlyList<string> errors)
    {
        Devices = devices;
        Routes = routes;
        PubSub = pubSub;
        Errors = errors;
        foreach (var d in devices)
        {
            if (d.DevEui is { } eui)
            {
                _byKey.TryAdd((d.Network, d.Application, "eui:" + eui), d);
            }

            if (d.NetworkDeviceId is { } id)
            {
                _byKey.TryAdd((d.Network, d.Application, "id:" + id), d);
            }
        }
    }

    public static NetworkMappings Empty { get; } = new([], [], new Dictionary<string, PubSubRoute>(), []);

    public IReadOnlyList<MappedDevice> Devices { get; }

    public IReadOnlyList<NetworkRoute> Routes { get; }

    public IReadOnlyDictionary<string, PubSubRoute> PubSub { get; }

    /// <summary>Every problem of every file, as <c>file: $.property: problem</c>; the worker does not start with any.</summary>
    public IReadOnlyList<string> Errors { get; }

    public bool IsEmpty => Devices.Count == 0;

    /// <summary>The MQTT topic filters the mapped network servers publish on.</summary>
    public IReadOnlyList<string> TopicFilters =>
    [
        .. Routes.SelectMany(r => r.Network == NetworkNames.ChirpStack
            ? new[] { r.Prefix + "/+/device/+/event/+" }
            : [r.Prefix + "/+/devices/+/up", r.Prefix + "/+/devices/+/join"]),
        .. PubSub.Keys,
    ];

    /// <summary>The device by DevEUI (lower-case hex) or, where the uplink lacks it, by the network server's device id.</summary>
    public MappedDevice? Find(string network, string application, string? devEui, string? networkDeviceId)
    {
        if (devEui is not null && _byKey.TryGetValue((network, application, "eui:" + devEui.ToLowerInvariant()), out var byEui))
        {
            return byEui;
        }

        return networkDeviceId is not null && _byKey.TryGetValue((network, application, "id:" + networkDeviceId), out var byId) ? byId : null;
    }

    /// <summary>The route the topic arrived on and the rest of the topic after its prefix; false for a device-contract topic.</summary>
    public bool TryRoute(string topic, out NetworkRoute route, out string rest)
    {
        foreach (var r in Routes)
        {
            if (topic.Length > r.Prefix.Length + 1 && topic.StartsWith(r.Prefix, StringComparison.Ordinal) && topic[r.Prefix.Length] == '/')
            {
                route = r;
                rest = topic[(r.Prefix.Length + 1)..];
                return true;
            }
        }

        route = null!;
        rest = "";
        return false;
    }
}
