using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>
/// A stored device as GET answers it: the Device as announced (PATCHes merged), each function carrying the
/// attributes last logged for it (the log report's Attribute objects, with their timestamps).
/// </summary>
public static class TalqDeviceViews
{
    public static JsonObject Device(TalqStoredDevice stored)
    {
        var view = (JsonObject)stored.Device.DeepClone();
        foreach (var function in (view["functions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var prefix = function["id"]!.GetValue<string>() + "/";
            foreach (var (key, value) in stored.Attributes.Where(a => a.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                // id and type name the function itself: an attribute logged under those names cannot replace them.
                if (key[prefix.Length..] is not ("id" or "type") and var name)
                {
                    function[name] = value.DeepClone();
                }
            }
        }

        return view;
    }

    /// <summary>One function of the device, or null when it has none with that id.</summary>
    public static JsonObject? Function(TalqStoredDevice stored, string functionId) =>
        (Device(stored)["functions"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(f => f["id"]?.GetValue<string>() == functionId);

    /// <summary>
    /// The function with only the attributes of <paramref name="scope"/> (all when null): the data model's scope of
    /// each attribute of the function's type (<see cref="TalqAttributeScopes"/>); an attribute whose scope is not
    /// known (another function type, a maker's own attribute) is left out of every scope.
    /// </summary>
    public static JsonObject? Function(TalqStoredDevice stored, string functionId, string? scope)
    {
        if (Function(stored, functionId) is not { } function || scope is null)
        {
            return Function(stored, functionId);
        }

        var type = function["type"]?.GetValue<string>() ?? "";
        foreach (var name in function.Select(p => p.Key).Where(n => n is not ("id" or "type") && TalqAttributeScopes.Of(type, n) != scope).ToList())
        {
            function.Remove(name);
        }

        return function;
    }

    /// <summary>The attribute last logged, else as announced; null when neither exists.</summary>
    public static JsonObject? Attribute(TalqStoredDevice stored, string functionId, string attributeName) =>
        attributeName is "id" or "type" ? null : Function(stored, functionId)?[attributeName] as JsonObject;
}
