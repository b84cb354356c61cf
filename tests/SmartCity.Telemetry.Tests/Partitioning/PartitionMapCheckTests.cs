using SmartCity.Telemetry.Partitioning;

namespace SmartCity.Telemetry.Tests.Partitioning;

public sealed class PartitionMapCheckTests
{
    private const string Region = """
        {
          "cities": [
            { "id": "lyon", "topicRoot": "region/lyon", "bucket": "lyon", "districts": ["d01", "d02"] },
            { "id": "vienne", "topicRoot": "region/vienne", "bucket": "vienne" }
          ],
          "partitions": [
            { "id": "lyon-1", "city": "lyon", "filters": ["region/lyon/+/d01/#"], "worker": "w1" },
            { "id": "lyon-2", "city": "lyon", "filters": ["region/lyon/+/d02/#"], "worker": "w2" },
            { "id": "vienne", "city": "vienne", "filters": ["region/vienne/#"], "worker": "w3" }
          ]
        }
        """;

    [Fact]
    public void Problems_DisjointPartitionsCoveringEveryDistrict_None() =>
        Assert.Empty(PartitionMapCheck.Problems(PartitionMap.Parse(Region)));

    [Fact]
    public void Problems_OverlappingFilters_NameBothPartitions()
    {
        var map = PartitionMap.Parse(Region.Replace("region/lyon/+/d02/#", "region/lyon/lighting/#", StringComparison.Ordinal));
        var problem = Assert.Single(PartitionMapCheck.Problems(map), p => p.Contains("overlap", StringComparison.Ordinal));
        Assert.Contains("'lyon-1' and 'lyon-2'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_DistrictNoPartitionTakes_NamesCityAndDistrict()
    {
        var map = PartitionMap.Parse(Region.Replace("\"d01\", \"d02\"", "\"d01\", \"d02\", \"d03\"", StringComparison.Ordinal));
        Assert.Contains(PartitionMapCheck.Problems(map), p => p.Contains("city 'lyon'", StringComparison.Ordinal) && p.Contains("'d03'", StringComparison.Ordinal));
    }

    [Fact]
    public void Problems_CityWithoutPartition_RootUncovered()
    {
        var map = PartitionMap.Parse(Region);
        map.Partitions.RemoveAll(p => p.City == "vienne");
        Assert.Contains(PartitionMapCheck.Problems(map), p => p.Contains("'region/vienne' is not covered", StringComparison.Ordinal));
    }

    [Fact]
    public void Problems_FilterOutsideItsCityOrWorkerOfTwoCities_Refused()
    {
        var map = PartitionMap.Parse(Region);
        map.Partitions[2].Worker = "w1";
        map.Partitions[1].Filters = ["region/vienne/+/d02/#"];
        var problems = PartitionMapCheck.Problems(map);
        Assert.Contains(problems, p => p.Contains("worker 'w1' owns partitions of several cities", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("partition 'lyon-2': filter 'region/vienne/+/d02/#' is not under", StringComparison.Ordinal));
    }

    [Fact]
    public void Problems_SharedBucketOrSharedSubscription_Refused()
    {
        var map = PartitionMap.Parse(Region.Replace("\"bucket\": \"vienne\"", "\"bucket\": \"lyon\"", StringComparison.Ordinal)
            .Replace("\"region/vienne/#\"", "\"$share/g/region/vienne/#\"", StringComparison.Ordinal));
        var problems = PartitionMapCheck.Problems(map);
        Assert.Contains(problems, p => p.Contains("share the bucket 'lyon'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("shared subscription", StringComparison.Ordinal));
    }

    [Fact]
    public void Resolve_Owner_GetsItsFiltersSessionStateAndCitySettings()
    {
        var path = Path.Combine(Path.GetTempPath(), $"partitions-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Region.Replace("\"bucket\": \"lyon\"", "\"bucket\": \"lyon\", \"settings\": { \"Alerting:TimeZone\": \"Europe/Paris\" }", StringComparison.Ordinal));
        try
        {
            var (overlay, filters, problems) = PartitionServiceCollectionExtensions.Resolve(path, "w2", "/var/lib/smartcity");
            Assert.Empty(problems);
            Assert.Equal(["region/lyon/+/d02/#"], filters);
            Assert.Equal("w2", overlay["Mqtt:ClientId"]);
            Assert.Equal("lyon", overlay["Influx:Bucket"]);
            Assert.Equal("region/lyon", overlay["Decoding:TopicRoot"]);
            Assert.Equal(Path.Combine("/var/lib/smartcity", "w2", "spool"), overlay["Spool:Directory"]);
            Assert.Equal(Path.Combine("/var/lib/smartcity", "w2", "alerts.json"), overlay["Alerting:StateFile"]);
            Assert.Equal("Europe/Paris", overlay["Alerting:TimeZone"]);
            Assert.Equal("lyon", overlay[PartitionServiceCollectionExtensions.CityKey]);

            Assert.Contains("worker 'w9' owns no partition", Assert.Single(PartitionServiceCollectionExtensions.Resolve(path, "w9", "data").Problems), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
