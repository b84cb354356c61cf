using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Implementations;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// MQTTnet takes an adapter factory, and that is the only way into its receive path: every connection
/// gets a <see cref="BacklogChannelAdapter"/> that hands each PUBLISH it reads to <paramref name="deliver"/>
/// itself, behind the receive backlog's gate. Delivery is accounted per connection by the adapter that
/// read the message (its <see cref="DirectAck"/>), so nothing here has to find which connection a late
/// message belonged to.
/// </summary>
internal sealed class BacklogAdapterFactory(ReceiveBacklog backlog, Func<SourceMessage, Task> deliver, IMqttClientAdapterFactory? inner = null, ReceiveLinger? linger = null) : IMqttClientAdapterFactory
{
    private readonly IMqttClientAdapterFactory _inner = inner ?? new MqttClientAdapterFactory();

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger) =>
        new BacklogChannelAdapter(_inner.CreateClientAdapter(options, packetInspector, logger), backlog, deliver, linger);
}
