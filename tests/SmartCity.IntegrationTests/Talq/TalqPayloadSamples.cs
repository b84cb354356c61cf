using System.Globalization;
using System.Text.Json;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>Device announcements and log reports as a TALQ lighting gateway sends them (checked against the data model in the tests).</summary>
public static class TalqPayloadSamples
{
    public static object Lamp(Guid address, string name) => new
    {
        address = address.ToString(),
        name,
        @class = "streetLightController",
        functions = new object[]
        {
            new { id = "basic", type = "BasicFunction" },
            new { id = "actuator", type = "LampActuatorFunction" },
            new { id = "monitor", type = "LampMonitorFunction" },
            new { id = "meter", type = "ElectricalMeterFunction" },
        },
    };

    public static object Photocell(Guid address) => new
    {
        address = address.ToString(),
        name = "photocell",
        @class = "photocellController",
        functions = new object[] { new { id = "photocell", type = "PhotocellFunction" } },
    };

    public static object Attribute(Guid lamp, string function, DateTimeOffset ts, string name, object value) => new
    {
        data = new { type = "AttributeLogData", srcAddress = $"{lamp}/{function}", timestamp = Time(ts), attributeName = name, attributeValue = value },
    };

    /// <summary>A PhotocellFunction's output (id "photocell", as in <see cref="Photocell"/>), an AttributeBinary ON / OFF.</summary>
    public static object PhotocellAttribute(Guid device, DateTimeOffset ts, object value) => Attribute(device, "photocell", ts, "photocellOutput", value);

    public static object Float(double value) => new { type = "AttributeFloat", value };

    public static object Level(int level) => new { type = "AttributeLevelState", value = new { name = "LevelState", value = level } };

    public static object Event(Guid lamp, DateTimeOffset ts, string eventType) => new
    {
        data = new { type = "EventLogData", srcAddress = $"{lamp}/monitor", timestamp = Time(ts), eventType },
    };

    public static object Report(params object[] entries) => new { address = "logger-lamps", entries };

    public static string Body(object body) => JsonSerializer.Serialize(body);

    private static string Time(DateTimeOffset ts) => ts.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
