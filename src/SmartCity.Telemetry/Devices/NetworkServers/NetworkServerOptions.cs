namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>LoRaWAN network servers (ChirpStack, The Things Stack) whose devices the city onboards by mapping files.</summary>
public sealed class NetworkServerOptions
{
    public const string SectionName = "NetworkServers";

    /// <summary>
    /// Folder of <c>*.mapping.json</c> files (docs/integrations/chirpstack.md). Every file is checked at start:
    /// one bad file stops the worker with each problem named by file and property.
    /// </summary>
    /// <value>The default value is none: no network-server topic is subscribed to.</value>
    public string? Directory { get; set; }
}
