using System.Reflection;
using SmartCity.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace SmartCity.IntegrationTests.Deploy;

/// <summary>
/// deploy/kubernetes as kustomize renders it (<c>kubectl kustomize</c>; CI installs kubectl with scripts/servers.sh):
/// the probes, the state volume, a non-root read-only container, secrets by reference, and environment
/// variables that name settings the worker really has.
/// </summary>
public sealed class KubernetesManifestTests
{
    private const string StateDirectory = "/var/lib/smartcity";

    private static string Folder => Path.Combine(RepositoryFiles.Root, "deploy", "kubernetes");

    [Fact]
    public async Task Kustomize_WorkerStatefulSet_ProbesVolumeNonRootAndSecretRefs()
    {
        var documents = await RenderAsync();
        var statefulSet = Single(documents, "StatefulSet");
        var pod = Map(Map(Map(statefulSet, "spec"), "template"), "spec");
        var container = Assert.IsType<YamlMappingNode>(Assert.Single(Seq(pod, "containers")));

        Assert.Equal("1", Scalar(Map(statefulSet, "spec"), "replicas"));
        Assert.Equal("/health/live", Scalar(Map(Map(container, "livenessProbe"), "httpGet"), "path"));
        Assert.Equal("/health/ready", Scalar(Map(Map(container, "readinessProbe"), "httpGet"), "path"));

        Assert.Equal("true", Scalar(Map(pod, "securityContext"), "runAsNonRoot"));
        Assert.NotEqual("0", Scalar(Map(pod, "securityContext"), "runAsUser"));
        Assert.Equal("true", Scalar(Map(container, "securityContext"), "readOnlyRootFilesystem"));
        Assert.Equal("false", Scalar(Map(container, "securityContext"), "allowPrivilegeEscalation"));

        // The state volume is a claim per replica, mounted where every state setting points.
        var claim = Assert.IsType<YamlMappingNode>(Assert.Single(Seq(Map(statefulSet, "spec"), "volumeClaimTemplates")));
        var claimName = Scalar(Map(claim, "metadata"), "name");
        Assert.Contains(Seq(container, "volumeMounts").Cast<YamlMappingNode>(), m => Scalar(m, "name") == claimName && Scalar(m, "mountPath") == StateDirectory);
        var env = Environment(documents, container);
        Assert.StartsWith(StateDirectory + "/", env["SMARTCITY_Spool__Directory"], StringComparison.Ordinal);
        Assert.StartsWith(StateDirectory + "/", env["SMARTCITY_Registry__File"], StringComparison.Ordinal);
        Assert.StartsWith(StateDirectory + "/", env["SMARTCITY_Alerting__StateFile"], StringComparison.Ordinal);

        // Secrets by reference only: no password, token or key has a literal value.
        var secretLike = Seq(container, "env").Cast<YamlMappingNode>().Where(e => IsSecretSetting(Scalar(e, "name"))).ToList();
        Assert.NotEmpty(secretLike);
        Assert.All(secretLike, e => Assert.True(e.Children.ContainsKey("valueFrom") && Map(e, "valueFrom").Children.ContainsKey("secretKeyRef"), Scalar(e, "name")));
        Assert.DoesNotContain(Single(documents, "ConfigMap").Children[new YamlScalarNode("data")].AllNodes.OfType<YamlScalarNode>(), n => IsSecretSetting(n.Value ?? ""));

        // The Service reaches the container's port.
        Assert.Contains(documents.Where(d => Kind(d) == "Service"), s => Seq(Map(s, "spec"), "ports").Cast<YamlMappingNode>().Any(p => Scalar(p, "targetPort") == "http"));
    }

    [Fact]
    public async Task Kustomize_EveryEnvironmentVariable_NamesAWorkerSetting()
    {
        var documents = await RenderAsync();
        var container = (YamlMappingNode)Seq(Map(Map(Map(Single(documents, "StatefulSet"), "spec"), "template"), "spec"), "containers")[0];

        var unknown = Environment(documents, container).Keys.Where(name => !IsWorkerSetting(name)).ToList();

        Assert.True(unknown.Count == 0, "not a worker setting: " + string.Join(", ", unknown));
        // The check itself tells a typo from a setting.
        Assert.False(IsWorkerSetting("SMARTCITY_Spool__Dir"));
        Assert.True(IsWorkerSetting("SMARTCITY_Mqtt__PasswordFile"));
    }

    /// <summary>kubectl kustomize's output; without kubectl (a developer's machine), the files kustomization.yaml lists, as they are.</summary>
    private static async Task<List<YamlMappingNode>> RenderAsync()
    {
        string yaml;
        if (File.Exists("/usr/bin/kubectl"))
        {
            var result = await ProcessRunner.RunAsync("/usr/bin/kubectl", ["kustomize", Folder], Folder);
            Assert.True(result.Exit == 0, $"kubectl kustomize exited {result.Exit}: {result.Stderr}");
            yaml = result.Stdout;
        }
        else
        {
            Assert.False(System.Environment.GetEnvironmentVariable("CI") == "true", "kubectl missing in CI: scripts/servers.sh installs kubernetes-client as root");
            var kustomization = Load(await File.ReadAllTextAsync(Path.Combine(Folder, "kustomization.yaml"))).Single();
            yaml = string.Join("\n---\n", Seq(kustomization, "resources").Select(r => File.ReadAllText(Path.Combine(Folder, ((YamlScalarNode)r).Value!))));
        }

        return Load(yaml);
    }

    private static List<YamlMappingNode> Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    /// <summary>The container's environment: its own variables (literal or from a reference) and its ConfigMap's.</summary>
    private static Dictionary<string, string> Environment(List<YamlMappingNode> documents, YamlMappingNode container)
    {
        var env = Seq(container, "env").Cast<YamlMappingNode>().ToDictionary(e => Scalar(e, "name"), e => e.Children.ContainsKey("value") ? Scalar(e, "value") : "(reference)");
        foreach (var source in Seq(container, "envFrom").Cast<YamlMappingNode>())
        {
            var name = Scalar(Map(source, "configMapRef"), "name");
            var map = documents.Single(d => Kind(d) == "ConfigMap" && Scalar(Map(d, "metadata"), "name") == name);
            foreach (var (key, value) in Map(map, "data").Children)
            {
                env[((YamlScalarNode)key).Value!] = ((YamlScalarNode)value).Value!;
            }
        }

        return env;
    }

    private static bool IsSecretSetting(string name) =>
        name.EndsWith("Password", StringComparison.Ordinal) || name.EndsWith("Token", StringComparison.Ordinal) || name.EndsWith("__Key", StringComparison.Ordinal);

    /// <summary>
    /// SMARTCITY_Section__Property__... names a property of the section's options class (found by its
    /// SectionName constant), list items by index; a secret's ...File twin counts as the secret itself.
    /// </summary>
    private static bool IsWorkerSetting(string name)
    {
        if (!name.StartsWith(SmartCity.Worker.WorkerHost.EnvironmentPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var path = name[SmartCity.Worker.WorkerHost.EnvironmentPrefix.Length..].Split("__");
        if (path is ["Urls"] || path[0] == "Logging")
        {
            return true; // the host's own settings
        }

        foreach (var (section, type) in Sections.Value)
        {
            var sectionPath = section.Split(':');
            if (path.Length > sectionPath.Length && path.Take(sectionPath.Length).SequenceEqual(sectionPath, StringComparer.OrdinalIgnoreCase) && HasProperty(type, path[sectionPath.Length..]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasProperty(Type type, string[] path)
    {
        if (path.Length == 0)
        {
            return true;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) && int.TryParse(path[0], out _))
        {
            return HasProperty(type.GetGenericArguments()[0], path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
            ?? (path is [var last] && last.EndsWith("File", StringComparison.Ordinal) ? type.GetProperty(last[..^"File".Length], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) : null);
        if (property is null)
        {
            return false;
        }

        var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        return path.Length == 1 || HasProperty(propertyType, path[1..]);
    }

    /// <summary>Every options class of the worker and the pipeline, by its SectionName.</summary>
    private static readonly Lazy<List<(string Section, Type Type)>> Sections = new(() =>
        [.. new[] { typeof(SmartCity.Worker.WorkerHost).Assembly, typeof(SmartCity.Telemetry.Diagnostics.PipelineMetrics).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string))
            .Select(x => ((string)x.Field!.GetRawConstantValue()!, x.Type))]);

    private static YamlMappingNode Single(List<YamlMappingNode> documents, string kind) => Assert.Single(documents, d => Kind(d) == kind);

    private static string Kind(YamlMappingNode node) => Scalar(node, "kind");

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static YamlSequenceNode Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (YamlSequenceNode)value : new YamlSequenceNode();

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value ?? "";
}
