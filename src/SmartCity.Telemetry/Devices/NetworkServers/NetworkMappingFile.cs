namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>The network servers a mapping file can name.</summary>
public static class NetworkNames
{
    public const string ChirpStack = "chirpstack";
    public const string TheThingsStack = "the-things-stack";
}

/// <summary>
/// One <c>*.mapping.json</c>: the devices of one network-server application that share a profile,
/// where they are, and how their uplinks become the profile's fields (docs/integrations/chirpstack.md).
/// </summary>
public sealed record NetworkMappingFile
{
    /// <summary><c>chirpstack</c> or <c>the-things-stack</c>.</summary>
    public required string Network { get; init; }

    /// <summary>
    /// The topic before the application segment: <c>application</c> (ChirpStack's default event topic) or
    /// <c>v3</c> (The Things Stack). Changed when the network server's topic template is.
    /// </summary>
    public string? TopicPrefix { get; init; }

    /// <summary>ChirpStack application id (a UUID), or The Things Stack application id (without <c>@tenant</c>).</summary>
    public required string Application { get; init; }

    /// <summary>The Things Stack Pub/Sub integration publishing into the city's broker: its exact topics.</summary>
    public PubSubTopics? PubSub { get; init; }

    /// <summary>The device profile every device of the file gets (its sector, measurement, fields and alert rules).</summary>
    public required string Profile { get; init; }

    public required string District { get; init; }

    public required string Site { get; init; }

    /// <summary>Raw <c>data</c>/<c>frm_payload</c>: the decoder plug-in by fPort (<c>"1": "elsys_ers_v1"</c>).</summary>
    public Dictionary<string, string> Codecs { get; init; } = [];

    /// <summary>Decoded <c>object</c>/<c>decoded_payload</c>: its key (dots for nesting) -> the profile field, with the unit it comes in.</summary>
    public Dictionary<string, FieldMapping> Fields { get; init; } = [];

    public required List<MappedDeviceSpec> Devices { get; init; }
}

public sealed record PubSubTopics
{
    public string? Uplink { get; init; }

    public string? Join { get; init; }
}

public sealed record FieldMapping
{
    /// <summary>The profile's field name.</summary>
    public required string Field { get; init; }

    /// <summary>The unit the network server's codec gives (<c>Wh</c>, <c>mA</c>, <c>Pa</c>...); converted to the profile field's unit.</summary>
    public string? Unit { get; init; }
}

public sealed record MappedDeviceSpec
{
    /// <summary>The device EUI, 16 hex digits (either case).</summary>
    public string? DevEui { get; init; }

    /// <summary>The Things Stack device ID (in its topics; its uplinks may lack the DevEUI).</summary>
    public string? NetworkDeviceId { get; init; }

    /// <summary>The city's device id (topic segment, InfluxDB tag).</summary>
    public required string DeviceId { get; init; }

    /// <summary>Overrides the file's district for this device.</summary>
    public string? District { get; init; }

    /// <summary>Overrides the file's site for this device.</summary>
    public string? Site { get; init; }
}
