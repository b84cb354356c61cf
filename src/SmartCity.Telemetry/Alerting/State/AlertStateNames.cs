using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>
/// Reads alert states and history kinds in any case: state files written before the names became
/// lowercase (<c>"Raised"</c>) still load. Writes the names the API and the notifiers use
/// (<c>raised</c>, <c>flappingStarted</c>).
/// </summary>
internal sealed class AlertStateNames<TEnum> : JsonConverter<TEnum>
    where TEnum : struct, Enum
{
    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Enum.TryParse<TEnum>(reader.GetString(), ignoreCase: true, out var value) && Enum.IsDefined(value)
            ? value
            : throw new JsonException($"'{reader.GetString()}' is not a {typeof(TEnum).Name}");

    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
        writer.WriteStringValue(JsonNamingPolicy.CamelCase.ConvertName(value.ToString()));
}
