using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Partitioning;

namespace SmartCity.IntegrationTests.Deploy;

/// <summary>deploy/kubernetes-partitioned: the example map is one a worker accepts, and its owners are the StatefulSet's pods.</summary>
public sealed partial class PartitionedManifestTests
{
    private const string Folder = "deploy/kubernetes-partitioned";

    [Fact]
    public void ExampleMap_AcceptedAndOwnedByTheStatefulSetReplicas()
    {
        var (map, error) = PartitionMap.Load(Path.Combine(RepositoryFiles.Root, Folder, "partitions.json"));
        Assert.Null(error);
        Assert.Empty(PartitionMapCheck.Problems(map!));

        var replicas = int.Parse(ReplicaCount().Match(RepositoryFiles.ReadAllText(Folder + "/kustomization.yaml")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Pod names of a StatefulSet are <name>-0 .. <name>-(replicas-1): each one owns partitions, no owner is missing a pod.
        Assert.Equal(
            Enumerable.Range(0, replicas).Select(i => $"smartcity-worker-{i}"),
            map!.Partitions.Select(p => p.Worker).Distinct().Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"name: smartcity-worker\s+count: (\d+)")]
    private static partial Regex ReplicaCount();
}
