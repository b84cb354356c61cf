using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Partitioning;

/// <summary>
/// A simulated region of two cities for the partitioned-worker tests: city A whole on one worker,
/// city B split by district over two workers (d01+d02, d03+d04), written as a partition map file.
/// </summary>
internal sealed class Region
{
    public const int LampsA = 100;
    public const int LampsB = 200;

    public Region(string dataDirectory)
    {
        RootA = TestServers.UniqueName("t") + "/city";
        RootB = TestServers.UniqueName("t") + "/city";
        CityA = TestServers.UniqueName("a-");
        CityB = TestServers.UniqueName("b-");
        WorkerA = TestServers.UniqueName("wa-");
        WorkerB1 = TestServers.UniqueName("wb1-");
        WorkerB2 = TestServers.UniqueName("wb2-");
        DataDirectory = dataDirectory;
        MapFile = Path.Combine(dataDirectory, "partitions.json");
    }

    public string RootA { get; }

    public string RootB { get; }

    public string CityA { get; }

    public string CityB { get; }

    public string WorkerA { get; }

    public string WorkerB1 { get; }

    public string WorkerB2 { get; }

    public string DataDirectory { get; }

    public string MapFile { get; }

    /// <summary>The districts each worker owns (city A's worker owns the whole city).</summary>
    public IReadOnlyDictionary<string, string[]> Districts => new Dictionary<string, string[]>
    {
        [WorkerA] = ["d01", "d02", "d03", "d04"],
        [WorkerB1] = ["d01", "d02"],
        [WorkerB2] = ["d03", "d04"],
    };

    /// <summary>The map; <paramref name="b2Filters"/> replaces the second B partition's filters (an overlapping map).</summary>
    public void WriteMap(string dbA, string dbB, string[]? b2Filters = null)
    {
        var map = new
        {
            cities = new object[]
            {
                new { id = CityA, topicRoot = RootA, bucket = dbA },
                new { id = CityB, topicRoot = RootB, bucket = dbB, districts = new[] { "d01", "d02", "d03", "d04" }, settings = new Dictionary<string, string> { ["Alerting:TimeZone"] = "Europe/Paris" } },
            },
            partitions = new object[]
            {
                new { id = "a-all", city = CityA, filters = new[] { RootA + "/#" }, worker = WorkerA },
                new { id = "b-north", city = CityB, filters = new[] { RootB + "/+/d01/#", RootB + "/+/d02/#" }, worker = WorkerB1 },
                new { id = "b-south", city = CityB, filters = b2Filters ?? [RootB + "/+/d03/#", RootB + "/+/d04/#"], worker = WorkerB2 },
            },
        };
        File.WriteAllText(MapFile, JsonSerializer.Serialize(map));
    }

    /// <summary>A worker's settings: the test servers, the map and its identity; nothing the map decides.</summary>
    public Dictionary<string, string?> Settings(InfluxTestDatabase anyDb, string worker)
    {
        var settings = TestWorker.Settings(anyDb, "unused", worker);
        foreach (var key in new[] { "Urls", "Mqtt:ClientId", "Mqtt:Subscriptions:0", "Decoding:TopicRoot", "Influx:Bucket", "Spool:Directory", "Registry:File", "Alerting:StateFile" })
        {
            settings.Remove(key);
        }

        settings["Logging:LogLevel:Default"] = "Warning";
        settings["Partitions:Map"] = MapFile;
        settings["Partitions:Worker"] = worker;
        settings["Partitions:DataDirectory"] = DataDirectory;
        var keys = new[] { (KeyA, CityA, (string?)null), (KeyB, CityB, null), (KeyBNorth, CityB, "d01") };
        for (var i = 0; i < keys.Length; i++)
        {
            var n = (i + 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings[$"Api:Keys:{n}:Name"] = keys[i].Item1.Name;
            settings[$"Api:Keys:{n}:Role"] = keys[i].Item1.Role;
            settings[$"Api:Keys:{n}:Key"] = keys[i].Item1.Key;
            settings[$"Api:Keys:{n}:City"] = keys[i].Item2;
            if (keys[i].Item3 is { } district)
            {
                settings[$"Api:Keys:{n}:Districts:0"] = district;
            }
        }

        return settings;
    }

    /// <summary>An operator of city A, an operator of city B, a viewer of city B's district d01.</summary>
    public static readonly TestApiKeys.TestKey KeyA = new("alice.city-a", "operator", "test-city-a-key-71c0f9e2b4");

    public static readonly TestApiKeys.TestKey KeyB = new("bruno.city-b", "operator", "test-city-b-key-4d8e2a6c13");

    public static readonly TestApiKeys.TestKey KeyBNorth = new("dora.city-b-d01", "viewer", "test-city-b-d01-key-9a3f5e");

    /// <summary>
    /// Lamps beyond a stream's own (index >= the stream's lamp count): they announce themselves and
    /// report a failed lamp at the current time, so each raises exactly one lamp_failure alert that
    /// no later reading of the stream can clear.
    /// </summary>
    public static async Task<IReadOnlyList<StreetLight>> PublishFaultsAsync(MqttPublisher publisher, string root, int streamLamps, IEnumerable<int> extraIndexes)
    {
        var fleet = new StreetLightFleet(streamLamps + 40, 4, root, seed: 11, DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromSeconds(1));
        var lamps = new List<StreetLight>();
        foreach (var index in extraIndexes.Select(i => streamLamps + i))
        {
            var lamp = fleet.Lamps[index];
            var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
            await publisher.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            var reading = fleet.Create(index);
            var json = JsonNode.Parse(reading.Payload)!.AsObject();
            json["ts"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
            json["faults"] = new JsonArray("lamp_failure");
            await publisher.PublishAsync(reading.Topic, System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            lamps.Add(lamp);
        }

        return lamps;
    }
}
