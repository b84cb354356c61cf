using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>The gateway's changes to devices it announced before: PUT and PATCH of one or several, DELETE; and its services.</summary>
public sealed partial class TalqIngress
{
    /// <summary>PUT /devices/{deviceAddress}: the gateway's own device, its definition replaced; an unknown one is "not found" (the spec's answer).</summary>
    public Task<TalqError?> ReplaceAsync(TalqGateway gateway, TalqDevice device, CancellationToken cancellationToken) =>
        ChangeAsync(() => Own(gateway, device.Address) is null ? (null, NotFound(device.Address)) : Definitions(gateway, [device]), cancellationToken);

    /// <summary>
    /// PATCH /devices and /devices/{deviceAddress}: each device merged into the one announced (name, class; a
    /// function with a known id has its attributes updated, a new id is added), all or none.
    /// </summary>
    public Task<TalqError?> PatchAsync(TalqGateway gateway, IReadOnlyList<TalqDevice> patches, CancellationToken cancellationToken) =>
        ChangeAsync(() =>
        {
            var merged = new List<TalqDevice>();
            foreach (var patch in patches)
            {
                if (Own(gateway, patch.Address) is not { } stored)
                {
                    return (null, NotFound(patch.Address));
                }

                var (device, error) = TalqPayloads.ParseDevice(System.Text.Json.JsonSerializer.SerializeToElement(Merge(stored.Device, patch.Json)));
                if (error is not null)
                {
                    return (null, error);
                }

                merged.Add(device!);
            }

            return Definitions(gateway, merged);
        }, cancellationToken);

    /// <summary>
    /// DELETE /devices/{deviceAddress}: forgotten here, and removed from the registry as when an MQTT device's retained
    /// birth is cleared (an empty status message: its alerts resolve, what it still sends is quarantined).
    /// </summary>
    public async Task<(JsonObject? Deleted, TalqError? Error)> DeleteAsync(TalqGateway gateway, Guid address, CancellationToken cancellationToken)
    {
        JsonObject? deleted = null;
        var error = await ChangeAsync(() =>
        {
            if (Own(gateway, address) is not { } stored)
            {
                return (null, NotFound(address));
            }

            deleted = stored.Device;
            List<(string, byte[])> removal = stored.Profile.Length > 0 ? [Message(gateway, address, stored.Profile, "status", null)] : [];
            return (new TalqChange(removal, new() { [address] = null }), null);
        }, cancellationToken).ConfigureAwait(false);
        return (error is null ? deleted : null, error);
    }

    /// <summary>POST /services: what the gateway supports (kept as sent, replacing what it told us before).</summary>
    public Task<TalqError?> ServicesAsync(TalqGateway gateway, JsonArray services, CancellationToken cancellationToken) =>
        ChangeAsync(() => (new TalqChange([], [], (gateway.Address, services)), null), cancellationToken);

    /// <summary>
    /// A change of the gateway's device classes: <paramref name="edit"/> gets a copy of them by name and changes it,
    /// or refuses; a class still named by one of the gateway's devices cannot be deleted.
    /// </summary>
    public Task<TalqError?> ClassesAsync(TalqGateway gateway, Func<Dictionary<string, JsonObject>, TalqError?> edit, CancellationToken cancellationToken) =>
        ChangeAsync(() =>
        {
            var classes = new Dictionary<string, JsonObject>(store.ClassesOf(gateway.Address), StringComparer.Ordinal);
            var refused = edit(classes);
            var removed = store.ClassesOf(gateway.Address).Keys.Where(name => !classes.ContainsKey(name)).ToHashSet(StringComparer.Ordinal);
            refused ??= store.OwnedBy(gateway.Address).FirstOrDefault(d => removed.Contains(d.Device.Device["class"]?.GetValue<string>() ?? "")) is { Device: not null } user
                ? new TalqError(StatusCodes.Status422UnprocessableEntity, "deletingResourceIsReferred", $"device {user.Address} is of this class")
                : null;
            return refused is not null ? (null, refused) : (new TalqChange([], []) { Classes = (gateway.Address, classes) }, null);
        }, cancellationToken);

    private static TalqError NotFound(Guid device) => new(StatusCodes.Status404NotFound, "resourceNotFound", $"no device {device} of this gateway");

    /// <summary>The spec's PATCH: top-level properties replaced, functions matched by id and merged attribute by attribute.</summary>
    private static JsonObject Merge(JsonObject announced, JsonObject patch)
    {
        var merged = (JsonObject)announced.DeepClone();
        foreach (var (name, value) in patch)
        {
            if (name != "functions")
            {
                merged[name] = value?.DeepClone();
                continue;
            }

            var functions = merged["functions"] as JsonArray ?? [];
            merged["functions"] = functions;
            foreach (var f in value!.AsArray().OfType<JsonObject>())
            {
                var id = f["id"]!.GetValue<string>();
                if (functions.OfType<JsonObject>().FirstOrDefault(e => e["id"]?.GetValue<string>() == id) is { } existing)
                {
                    foreach (var (attribute, v) in f)
                    {
                        existing[attribute] = v?.DeepClone();
                    }
                }
                else
                {
                    functions.Add(f.DeepClone());
                }
            }
        }

        return merged;
    }
}
