using System.Text.Json;
using Json.Schema;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// The official TALQ 2.7.1 OpenAPI files in ../shared/talq (beside the repository; never copied into it):
/// request bodies and our CMS API's answers are checked against their schemas with JsonSchema.Net.
/// </summary>
public static class TalqContract
{
    public const string DataModel = "talq-data-model-2-7-1-online.json";
    public const string Cms = "talq-api-cms-2-7-1-online.json";
    public const string Gateway = "talq-api-gateway-2-7-1-online.json";

    private static readonly Uri Base = new("file:///talq/");
    private static readonly Lazy<BuildOptions> Options = new(Load);

    /// <summary>The folder of the OpenAPI files: ../shared/talq next to the repository root.</summary>
    public static string Directory
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(RepositoryFiles.Root, "..", "shared", "talq"));
            return File.Exists(Path.Combine(dir, DataModel)) ? dir
                : throw new FileNotFoundException($"The TALQ 2.7.1 OpenAPI files are missing: put {Cms}, {Gateway} and {DataModel} (TALQ-consortium/TALQ_specification, release 2.7.1) in {dir}");
        }
    }

    /// <summary>Problems of <paramref name="json"/> against a schema of the data model (components/schemas/<paramref name="schema"/>).</summary>
    public static IReadOnlyList<string> CheckModel(string schema, string json) => Check($"{DataModel}#/components/schemas/{schema}", json);

    /// <summary>Problems of an answer against the CMS API's response schema for that path, method and status.</summary>
    public static IReadOnlyList<string> CheckCmsResponse(string path, string method, int status, string json) =>
        Check($"{Cms}#/paths/{path.Replace("/", "~1", StringComparison.Ordinal)}/{method}/responses/{status}/content/application~1json/schema", json);

    /// <summary>Whether the CMS API declares that status for the operation (a status it does not list is itself a breach).</summary>
    public static bool CmsDeclares(string path, string method, int status)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, Cms)));
        return doc.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out _);
    }

    /// <summary>Every operation (path template, lower-case method) the CMS API file declares.</summary>
    public static IReadOnlyList<(string Path, string Method)> CmsOperations()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, Cms)));
        string[] methods = ["get", "post", "put", "patch", "delete"];
        return [.. doc.RootElement.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Where(m => methods.Contains(m.Name)).Select(m => (p.Name, m.Name)))];
    }

    private static IReadOnlyList<string> Check(string reference, string json)
    {
        var schema = JsonSchema.FromText($$"""{ "$ref": "{{new Uri(Base, reference)}}" }""", Options.Value, new Uri(Base, "check-" + Guid.NewGuid().ToString("N")));
        using var instance = JsonDocument.Parse(json);
        var result = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? [] : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"))];
    }

    private static BuildOptions Load()
    {
        var registry = new SchemaRegistry();
        foreach (var file in new[] { DataModel, Cms, Gateway })
        {
            var uri = new Uri(Base, file);
            registry.Register(uri, new JsonElementBaseDocument(JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, file))).RootElement, uri));
        }

        // OpenAPI 3.0 schemas carry keywords JSON Schema does not know (discriminator, x-talq-*): allowed, not checked.
        return new BuildOptions { SchemaRegistry = registry, Dialect = Dialect.Draft202012.With([], allowUnknownKeywords: true) };
    }
}
