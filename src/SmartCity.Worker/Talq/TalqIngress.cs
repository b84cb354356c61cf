using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Worker.Talq;

/// <summary>
/// What TALQ gateways send, turned into the device contract's own messages (a birth per announced lamp,
/// streetlight telemetry per logged instant) and handed to the ingest stage as if they came over MQTT:
/// the registry, InfluxDB, alerts and dead letters see one path. Every message of a request is decoded
/// first; one refused refuses the request, so nothing is half-registered or half-stored.
/// </summary>
public sealed class TalqIngress(TalqDeviceOwners owners, IngestStage ingest, MessageDecoder decoder, PipelineMetrics metrics, IOptions<DecodingOptions> decoding, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, Guid> _owners = owners.ByDevice;
    private readonly ConcurrentDictionary<Guid, LampState> _lamps = new();
    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Dispose() => _gate.Dispose();

    /// <summary>The device id in the registry: the TALQ address, lower case (a valid topic segment).</summary>
    public static string DeviceId(Guid address) => address.ToString("D");

    public bool Owns(TalqGateway gateway, Guid device) => _owners.TryGetValue(device, out var owner) && owner == gateway.Address;

    /// <summary>Refusals are counted with the pipeline's rejections (reason talq_{key}).</summary>
    public IResult Refuse(TalqError error)
    {
        metrics.Rejected("talq_" + error.Key);
        return error.ToResult();
    }

    public async Task<TalqError?> AnnounceAsync(TalqGateway gateway, IReadOnlyList<TalqDevice> devices, bool create, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var d in devices)
            {
                var owned = _owners.TryGetValue(d.Address, out var owner);
                if (create && owned)
                {
                    return new TalqError(StatusCodes.Status409Conflict, "resourceConflict", $"device {d.Address} is already registered");
                }

                if (owned && owner != gateway.Address)
                {
                    // An update of another gateway's device: "not found", so a gateway learns nothing of others' devices.
                    return new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no device {d.Address} of this gateway");
                }
            }

            var now = time.GetUtcNow();
            var births = devices.Where(d => d.IsLamp).Select(d => Message(gateway, d.Address, "status", new Dictionary<string, object?>
            {
                ["v"] = 1, ["online"] = true, ["ts"] = now, ["profile"] = "streetlight", ["district"] = gateway.District, ["site"] = gateway.SiteOf(d.Address),
            })).ToList();
            if (await IngestAllAsync(births, now, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            foreach (var d in devices)
            {
                _owners[d.Address] = gateway.Address;
                if (d.IsLamp)
                {
                    _lamps.TryAdd(d.Address, new LampState());
                }
            }

            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<TalqError?> ReportAsync(TalqGateway gateway, IReadOnlyList<TalqLogValue> values, CancellationToken cancellationToken)
    {
        if (values.FirstOrDefault(v => !Owns(gateway, v.Device) || !_lamps.ContainsKey(v.Device)) is { } unknown)
        {
            // Another gateway's device is "not found" too: a gateway learns nothing of devices not its own.
            return new TalqError(StatusCodes.Status422UnprocessableEntity, "relatedResourceNotFound", $"no lamp {unknown.Device} announced by this gateway");
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow();
            var next = _lamps.ToDictionary(p => p.Key, p => p.Value with { });
            var messages = new List<(string, byte[])>();
            foreach (var instant in values.GroupBy(v => (v.Device, Ts: v.Timestamp ?? now)).OrderBy(g => g.Key.Ts))
            {
                var state = next[instant.Key.Device] = next[instant.Key.Device].Apply(instant);
                if (state.Telemetry(instant.Key.Ts) is { } payload)
                {
                    messages.Add(Message(gateway, instant.Key.Device, "telemetry", payload));
                }
            }

            if (await IngestAllAsync(messages, now, cancellationToken).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            foreach (var (device, state) in next)
            {
                _lamps[device] = state;
            }

            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private (string Topic, byte[] Payload) Message(TalqGateway gateway, Guid device, string kind, Dictionary<string, object?> payload) =>
        ($"{decoding.Value.TopicRoot}/lighting/{gateway.District}/{gateway.SiteOf(device)}/streetlight/{DeviceId(device)}/{kind}", JsonSerializer.SerializeToUtf8Bytes(payload));

    /// <summary>Decodes all (nothing stored if one is refused), then ingests each and waits until it is on disk.</summary>
    private async Task<TalqError?> IngestAllAsync(List<(string Topic, byte[] Payload)> messages, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var (topic, payload) in messages)
        {
            var outcome = decoder.Decode(topic, new ReadOnlySequence<byte>(payload), now);
            if (outcome.Status != DecodeStatus.Accepted)
            {
                return new TalqError(StatusCodes.Status422UnprocessableEntity, "payloadError", $"{outcome.Result.Reason}: {outcome.Result.Detail}");
            }
        }

        foreach (var (topic, payload) in messages)
        {
            var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await ingest.HandleAsync(topic, new ReadOnlySequence<byte>(payload), _ => { stored.TrySetResult(); return Task.CompletedTask; }, cancellationToken).ConfigureAwait(false);
            await stored.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>The last logged values of a lamp: TALQ logs attributes one by one, telemetry carries them together.</summary>
    private sealed record LampState
    {
        public double? Level { get; init; }

        public double? Power { get; init; }

        public IReadOnlyDictionary<string, double> Numbers { get; init; } = new Dictionary<string, double>();

        public IReadOnlySet<string> Faults { get; init; } = new HashSet<string>();

        public LampState Apply(IEnumerable<TalqLogValue> values)
        {
            var numbers = new Dictionary<string, double>(Numbers);
            var faults = new HashSet<string>(Faults);
            var (level, power) = (Level, Power);
            foreach (var v in values)
            {
                switch (v)
                {
                    case { Field: TalqAttributes.Level, Number: { } n }: level = n; break;
                    case { Field: TalqAttributes.Power, Number: { } n }: power = n; break;
                    case { Number: { } n }: numbers[v.Field] = n; break;
                    case { Flag: true }: faults.Add(v.Field); break;
                    case { Flag: false }: faults.Remove(v.Field); break;
                }
            }

            return new LampState { Level = level, Power = power, Numbers = numbers, Faults = faults };
        }

        /// <summary>Null until both level and power have been logged (the profile requires on, dim_pct and power_w).</summary>
        public Dictionary<string, object?>? Telemetry(DateTimeOffset ts)
        {
            if (Level is not { } level || Power is not { } power)
            {
                return null;
            }

            var payload = new Dictionary<string, object?>
            {
                ["v"] = 1, ["ts"] = ts.ToString("O", CultureInfo.InvariantCulture), ["on"] = level > 0, ["dim_pct"] = level, ["power_w"] = power,
                ["faults"] = Faults.Order(StringComparer.Ordinal).ToArray(),
            };
            foreach (var (field, value) in Numbers)
            {
                payload[field] = value;
            }

            return payload;
        }
    }
}
