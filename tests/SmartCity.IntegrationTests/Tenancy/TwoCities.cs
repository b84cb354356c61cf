using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Tenancy;

/// <summary>One city of <see cref="TwoCities"/>: its id, topic root, database, worker identity and settings.</summary>
internal sealed record TestCity(string Id, string Root, InfluxTestDatabase Db, string Worker, Dictionary<string, string?> Settings);

/// <summary>
/// Two cities in one deployment, each whole on one worker, written as a partition map (as
/// deploy/kubernetes-partitioned ships it): each worker takes its city's root, bucket and settings
/// from the map, as in production. Roots are <c>t*/city</c>, which the test broker's worker account
/// may read, unless a city is given its own accounts.
/// </summary>
internal sealed class TwoCities : IAsyncDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("cities-"));

    private TwoCities(TestCity a, TestCity b)
    {
        (A, B) = (a, b);
        Directory.CreateDirectory(_data);
    }

    /// <summary>The workers' data folders, the map, and any file a test writes for them (deleted at the end).</summary>
    public string DataDirectory => _data;

    public TestCity A { get; }

    public TestCity B { get; }

    public string MapFile => Path.Combine(_data, "partitions.json");

    /// <summary>Two cities with their own databases; <paramref name="settingsA"/> and <paramref name="settingsB"/> are the map's city settings.</summary>
    public static async Task<TwoCities> CreateAsync(Dictionary<string, string?> settingsA, Dictionary<string, string?> settingsB)
    {
        var a = new TestCity(TestServers.UniqueName("ca-"), TestServers.UniqueName("t") + "/city", await InfluxTestDatabase.CreateAsync(), TestServers.UniqueName("wa-"), settingsA);
        var b = new TestCity(TestServers.UniqueName("cb-"), TestServers.UniqueName("t") + "/city", await InfluxTestDatabase.CreateAsync(), TestServers.UniqueName("wb-"), settingsB);
        return new TwoCities(a, b);
    }

    /// <summary>Writes the map, then starts the worker of <paramref name="city"/> in this process (optionally on a clock of the test's).</summary>
    public async Task<TestWorker> StartWorkerAsync(TestCity city, TimeProvider? time = null)
    {
        var map = new
        {
            cities = new[] { A, B }.Select(c => new { id = c.Id, topicRoot = c.Root, bucket = c.Db.Name, settings = c.Settings }),
            partitions = new[] { A, B }.Select(c => new { id = c.Id + "-all", city = c.Id, filters = new[] { c.Root + "/#" }, worker = c.Worker }),
        };
        await File.WriteAllTextAsync(MapFile, JsonSerializer.Serialize(map));
        var overrides = new Dictionary<string, string?>
        {
            ["Partitions:Map"] = MapFile,
            ["Partitions:Worker"] = city.Worker,
            ["Partitions:DataDirectory"] = _data,
        };
        if (city.Settings.ContainsKey("Mqtt:PasswordFile"))
        {
            overrides["Mqtt:Password"] = null; // the city's own account, not the test worker's
        }

        return await TestWorker.StartAsync(city.Db, topicRoot: city.Root, clientId: city.Worker, time: time, overrides: overrides);
    }

    public async ValueTask DisposeAsync()
    {
        await A.Db.DisposeAsync();
        await B.Db.DisposeAsync();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
