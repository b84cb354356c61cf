using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Worker.Talq;

/// <summary>
/// What TALQ gateways send, turned into the device contract's own messages (a birth per announced lamp or
/// photocell, telemetry per logged instant, an empty status to remove one) and handed to the ingest stage as
/// if they came over MQTT: the registry, InfluxDB, alerts and dead letters see one path. Every message of a
/// request is decoded first and the CMS state written before anything is ingested: one refused refuses the
/// request, so nothing is half-registered or half-stored.
/// </summary>
public sealed partial class TalqIngress(TalqDeviceStore store, DeviceRegistry registry, IngestStage ingest, MessageDecoder decoder, PipelineMetrics metrics, IOptions<DecodingOptions> decoding, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Dispose() => _gate.Dispose();

    /// <summary>The device id in the registry: the TALQ address, lower case (a valid topic segment).</summary>
    public static string DeviceId(Guid address) => address.ToString("D");

    /// <summary>The gateway's own device, or null: another gateway's device is "not found" too, so a gateway learns nothing of others'.</summary>
    public TalqStoredDevice? Own(TalqGateway gateway, Guid device) => store.Find(device) is { } stored && stored.Owner == gateway.Address ? stored : null;

    /// <summary>Refusals are counted with the pipeline's rejections (reason talq_{key}).</summary>
    public IResult Refuse(TalqError error)
    {
        metrics.Rejected("talq_" + error.Key);
        return error.ToResult();
    }

    /// <summary>POST (<paramref name="create"/>) or PUT /devices: new devices, or the definitions of the gateway's own replaced.</summary>
    public Task<TalqError?> AnnounceAsync(TalqGateway gateway, IReadOnlyList<TalqDevice> devices, bool create, CancellationToken cancellationToken) =>
        ChangeAsync(() =>
        {
            foreach (var d in devices)
            {
                var stored = store.Find(d.Address);
                if (create && stored is not null)
                {
                    return (null, new TalqError(StatusCodes.Status409Conflict, "resourceConflict", $"device {d.Address} is already registered"));
                }

                if (stored is not null && stored.Owner != gateway.Address)
                {
                    return (null, new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no device {d.Address} of this gateway"));
                }
            }

            return Definitions(gateway, devices);
        }, cancellationToken);

    public Task<TalqError?> ReportAsync(TalqGateway gateway, TalqLogReport report, CancellationToken cancellationToken) =>
        ChangeAsync(() =>
        {
            // Checked under the gate: a DELETE of the device cannot slip in between.
            if (report.Devices.Where(d => Own(gateway, d) is null).Select(d => (Guid?)d).FirstOrDefault() is { } unknown)
            {
                return (null, new TalqError(StatusCodes.Status422UnprocessableEntity, "relatedResourceNotFound", $"no device {unknown} announced by this gateway"));
            }

            var now = time.GetUtcNow();
            var changes = new Dictionary<Guid, TalqStoredDevice?>();
            var messages = new List<(string, byte[])>();
            var reporting = new HashSet<Guid>();
            foreach (var a in report.Attributes)
            {
                var current = changes.GetValueOrDefault(a.Device) ?? store.Find(a.Device)!;
                changes[a.Device] = current with { Attributes = new(current.Attributes, StringComparer.Ordinal) { [$"{a.FunctionId}/{a.Name}"] = a.Value } };
            }

            foreach (var instant in report.Values.GroupBy(v => (v.Device, Ts: v.Timestamp ?? now)).OrderBy(g => g.Key.Ts))
            {
                var current = changes.GetValueOrDefault(instant.Key.Device) ?? store.Find(instant.Key.Device)!;
                var next = current with { Values = current.Values.Apply(instant) };
                changes[instant.Key.Device] = next;
                if (next.Values.Telemetry(next.Profile, instant.Key.Ts) is { } payload)
                {
                    messages.Add(Message(gateway, instant.Key.Device, next.Profile, "telemetry", payload));
                    reporting.Add(instant.Key.Device);
                }
            }

            // A device the registry forgot (a crash inside Registry:SaveInterval) is born again from our own file first.
            var births = reporting.Where(d => registry.Find(DeviceId(d)) is null).Select(d => Birth(gateway, d, changes[d]!.Profile, now));
            return (new TalqChange([.. births, .. messages], changes) { Durable = false }, null);
        }, cancellationToken);

    /// <summary>The new definitions of the gateway's devices, each with the birth that (re-)registers it under its profile.</summary>
    private (TalqChange?, TalqError?) Definitions(TalqGateway gateway, IEnumerable<TalqDevice> devices)
    {
        var now = time.GetUtcNow();
        var changes = new Dictionary<Guid, TalqStoredDevice?>();
        var births = new List<(string, byte[])>();
        foreach (var d in devices)
        {
            var stored = store.Find(d.Address);
            if (stored is { Profile.Length: > 0 } && d.Profile != stored.Profile)
            {
                // The registry keys a device by its type: a lamp does not become a photocell in place.
                return (null, new TalqError(StatusCodes.Status422UnprocessableEntity, "resourceConflict", $"device {d.Address} is registered as {stored.Profile}; its functions now make it '{d.Profile}': delete it and announce it again"));
            }

            changes[d.Address] = (stored ?? new TalqStoredDevice { Owner = gateway.Address }) with { Profile = d.Profile, Device = d.Json };
            if (d.Profile.Length > 0)
            {
                births.Add(Birth(gateway, d.Address, d.Profile, now));
            }
        }

        return (new TalqChange(births, changes), null);
    }

    /// <summary>
    /// Under the gate: <paramref name="plan"/> returns the messages and state changes of the request, or a refusal.
    /// The messages are decoded, the state written, then the messages ingested.
    /// </summary>
    private async Task<TalqError?> ChangeAsync(Func<(TalqChange? Change, TalqError? Refused)> plan, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (change, refused) = plan();
            if (refused is not null)
            {
                return refused;
            }

            if (Check(change!.Messages, time.GetUtcNow()) is { } invalid)
            {
                return invalid;
            }

            try
            {
                store.Commit(change.Devices, change.Services, change.Classes, change.Durable);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return new TalqError(StatusCodes.Status422UnprocessableEntity, "genericError", $"the CMS cannot save its state ({ex.Message}); nothing was changed, try again");
            }

            await IngestAsync(change.Messages, cancellationToken).ConfigureAwait(false);
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private (string Topic, byte[] Payload) Birth(TalqGateway gateway, Guid device, string profile, DateTimeOffset now) =>
        Message(gateway, device, profile, "status", new Dictionary<string, object?>
        {
            ["v"] = 1, ["online"] = true, ["ts"] = now, ["profile"] = profile, ["district"] = gateway.District, ["site"] = gateway.SiteOf(device),
        });

    // Both our TALQ profiles (streetlight, photocell) have the device type of their name, in the lighting sector.
    private (string Topic, byte[] Payload) Message(TalqGateway gateway, Guid device, string profile, string kind, object? payload) =>
        ($"{decoding.Value.TopicRoot}/lighting/{gateway.District}/{gateway.SiteOf(device)}/{profile}/{DeviceId(device)}/{kind}", payload is null ? [] : JsonSerializer.SerializeToUtf8Bytes(payload));

    /// <summary>Decodes all: the first one refused refuses the request (nothing is stored).</summary>
    private TalqError? Check(List<(string Topic, byte[] Payload)> messages, DateTimeOffset now)
    {
        foreach (var (topic, payload) in messages)
        {
            var outcome = decoder.Decode(topic, new ReadOnlySequence<byte>(payload), now);
            if (outcome.Status != DecodeStatus.Accepted)
            {
                return new TalqError(StatusCodes.Status422UnprocessableEntity, "payloadError", $"{outcome.Result.Reason}: {outcome.Result.Detail}");
            }
        }

        return null;
    }

    /// <summary>Ingests each message and waits until it is on disk (the spool), as an MQTT message is acknowledged.</summary>
    private async Task IngestAsync(List<(string Topic, byte[] Payload)> messages, CancellationToken cancellationToken)
    {
        foreach (var (topic, payload) in messages)
        {
            var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await ingest.HandleAsync(topic, new ReadOnlySequence<byte>(payload), _ => { stored.TrySetResult(); return Task.CompletedTask; }, cancellationToken).ConfigureAwait(false);
            await stored.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What a request changes: the messages to ingest, the devices' new state (null: removed), a gateway's services or device classes.</summary>
internal sealed record TalqChange(List<(string Topic, byte[] Payload)> Messages, Dictionary<Guid, TalqStoredDevice?> Devices, (Guid Gateway, System.Text.Json.Nodes.JsonArray Services)? Services = null)
{
    public (Guid Gateway, Dictionary<string, System.Text.Json.Nodes.JsonObject> Classes)? Classes { get; init; }

    /// <summary>False for last values only: written with the next periodic save (<see cref="TalqDeviceStore.ValuesSaveInterval"/>).</summary>
    public bool Durable { get; init; } = true;
}
