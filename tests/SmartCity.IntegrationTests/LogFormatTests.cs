using System.Diagnostics;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests;

/// <summary>Logs a collector can parse: the console switches to JSON by configuration, keeping the event ids.</summary>
public sealed class LogFormatTests
{
    [Fact]
    public async Task ConsoleLog_FormatterNameJson_ConnectedLineIsJsonWithItsEventId()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        // As an operator sets it: SMARTCITY_Logging__Console__FormatterName=json (WorkerProcess maps ':' to '__').
        settings["Logging:Console:FormatterName"] = "json";

        await using var worker = await WorkerProcess.StartAsync(settings);

        // Event 1001 "Connected to MQTT broker": its line may reach the output reader after /api/pipeline says connected.
        var line = await ConnectedLineAsync(worker);
        using var json = JsonDocument.Parse(line);
        Assert.Equal(1001, json.RootElement.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", json.RootElement.GetProperty("LogLevel").GetString());
        Assert.StartsWith("Connected to MQTT broker", json.RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.True(json.RootElement.GetProperty("State").TryGetProperty("ClientId", out _), line);
    }

    private static async Task<string> ConnectedLineAsync(WorkerProcess worker)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (worker.OutputLines.FirstOrDefault(l => l.Contains("Connected to MQTT broker", StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("no 'Connected to MQTT broker' line; output:\n" + worker.Output);
    }
}
