using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Grafana;

/// <summary>
/// Issue 20: dashboards importable into any Grafana (__inputs and a datasource variable, never a
/// fixed datasource uid; the current schemaVersion), with the city's time zone and currency filled
/// at provisioning by deploy/grafana/render-dashboards.sh, as Grafana's import fills __inputs.
/// </summary>
public sealed partial class DashboardTests
{
    /// <summary>Grafana 12's dashboard schema (apps/dashboard/pkg/migration/schemaversion: LATEST_VERSION).</summary>
    private const int CurrentSchemaVersion = 42;

    private static string RenderScript => Path.Combine(RepoRoot, "deploy", "grafana", "render-dashboards.sh");

    /// <summary>The dashboards rendered as the Grafana entrypoint renders them, into a folder of the test's own.</summary>
    internal static async Task<string> RenderedAsync(string timeZone = "Europe/Amsterdam", string currency = "EUR")
    {
        var target = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("dashboards-"));
        var result = await ProcessRunner.RunAsync("/bin/sh", [RenderScript, Path.Combine(GrafanaDir, "dashboards"), target], RepoRoot,
            new Dictionary<string, string?> { ["SMARTCITY_CITY_TIMEZONE"] = timeZone, ["SMARTCITY_CITY_CURRENCY"] = currency });
        Assert.True(result.Exit == 0, result.Output);
        return target;
    }

    private static string? DatasourceVariableValue(Dashboard d, string name) =>
        d.Variables.Where(v => v.GetProperty("name").GetString() == name && v.GetProperty("type").GetString() == "datasource")
            .Select(v => v.TryGetProperty("current", out var c) && c.TryGetProperty("value", out var value) ? value.GetString() : null)
            .FirstOrDefault();

    [Fact]
    public void Offline_EveryDashboard_IsImportable_InputsAndDatasourceVariable_NoFixedUid_CurrentSchema()
    {
        var problems = LoadDashboards().SelectMany(d => ImportProblems(d.Root, d.Name)).ToList();

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Contains(LoadDashboards(), d => d.ReadsRollups);
    }

    [Fact]
    public void ImportProblems_FixedDatasourceUidOrNoInputs_AreReported()
    {
        var file = Path.Combine(GrafanaDir, "dashboards", "street-lighting.json");
        var text = File.ReadAllText(file);
        Assert.Empty(ImportProblems(JsonDocument.Parse(text).RootElement, "as committed"));

        // A panel exported from a provisioned Grafana without "sharing externally": the fixed uid.
        var fixedUid = JsonNode.Parse(text)!;
        fixedUid["panels"]![0]!["datasource"] = JsonNode.Parse("""{"type":"influxdb","uid":"smartcity-influxdb"}""");
        Assert.Contains(ImportProblems(JsonDocument.Parse(fixedUid.ToJsonString()).RootElement, "fixed uid"), p => p.Contains("fixed datasource uid", StringComparison.Ordinal));

        var noInputs = JsonNode.Parse(text)!.AsObject();
        noInputs.Remove("__inputs");
        Assert.Contains(ImportProblems(JsonDocument.Parse(noInputs.ToJsonString()).RootElement, "no inputs"), p => p.Contains("__inputs", StringComparison.Ordinal));

        var hardCoded = JsonNode.Parse(text.Replace("currency${VAR_CURRENCY}", "currencyEUR", StringComparison.Ordinal).Replace("\"${VAR_TIMEZONE}\"", "\"browser\"", StringComparison.Ordinal))!;
        var found = ImportProblems(JsonDocument.Parse(hardCoded.ToJsonString()).RootElement, "hard-coded");
        Assert.Contains(found, p => p.Contains("currency", StringComparison.Ordinal));
        Assert.Contains(found, p => p.Contains("timezone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RenderDashboards_CitySettings_FillEveryInputAsGrafanasImportWould()
    {
        var dashboards = LoadDashboards(await RenderedAsync("America/Sao_Paulo", "BRL"));

        Assert.Equal(LoadDashboards().Count, dashboards.Count);
        foreach (var d in dashboards)
        {
            var text = d.Root.GetRawText();
            Assert.False(Regex.IsMatch(text, @"\$\{(DS|VAR)_[A-Z_]+\}"), $"{d.Name}: an input is left: {Regex.Match(text, @"\$\{(DS|VAR)_[A-Z_]+\}").Value}");
            Assert.Equal("America/Sao_Paulo", d.Root.GetProperty("timezone").GetString());
            Assert.DoesNotContain("currencyEUR", text, StringComparison.Ordinal);
            var datasource = d.ReadsRollups ? "rollups" : "datasource";
            Assert.Equal(d.ReadsRollups ? "smartcity-rollups" : "smartcity-influxdb", DatasourceVariableValue(d, datasource));
        }

        var lighting = dashboards.Single(d => d.Name == "street-lighting.json");
        Assert.Contains("\"currencyBRL\"", lighting.Root.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("America/Sao_Paulo", lighting.Variables.Single(v => v.GetProperty("name").GetString() == "tz").GetProperty("query").GetString());
    }

    [Fact]
    public async Task RenderDashboards_CurrencyNotAnIsoCode_RefusesNamingTheSetting()
    {
        var target = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("dashboards-"));
        var result = await ProcessRunner.RunAsync("/bin/sh", [RenderScript, Path.Combine(GrafanaDir, "dashboards"), target], RepoRoot,
            new Dictionary<string, string?> { ["SMARTCITY_CITY_CURRENCY"] = "euro|x" });

        Assert.Equal(78, result.Exit);
        Assert.Contains("SMARTCITY_CITY_CURRENCY", result.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target) && Directory.EnumerateFiles(target).Any());
    }

    /// <summary>What keeps a dashboard from importing into any Grafana, or ties it to one city.</summary>
    private static List<string> ImportProblems(JsonElement root, string name)
    {
        var problems = new List<string>();
        var inputs = root.TryGetProperty("__inputs", out var i) && i.ValueKind == JsonValueKind.Array
            ? i.EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!, x => x.GetProperty("type").GetString())
            : [];
        if (!inputs.ContainsValue("datasource"))
        {
            problems.Add($"{name}: no __inputs entry of type datasource (export it 'for sharing externally')");
        }

        var text = root.GetRawText();
        foreach (Match m in Regex.Matches(text, @"\$\{(?<input>(DS|VAR)_[A-Z_]+)\}"))
        {
            if (!inputs.ContainsKey(m.Groups["input"].Value))
            {
                problems.Add($"{name}: uses ${{{m.Groups["input"].Value}}} without an __inputs entry");
            }
        }

        var datasourceVariables = root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.GetProperty("type").GetString() == "datasource").Select(v => v.GetProperty("name").GetString()!).ToHashSet();
        foreach (var (where, reference) in DatasourceReferences(root, "$"))
        {
            var uid = reference.ValueKind == JsonValueKind.Object && reference.TryGetProperty("uid", out var u) ? u.GetString() : null;
            if (uid == "-- Grafana --")
            {
                continue;
            }

            if (uid is null || !uid.StartsWith("${", StringComparison.Ordinal) || !datasourceVariables.Contains(uid[2..^1]))
            {
                problems.Add($"{name} {where}: fixed datasource uid '{uid}' (use a datasource variable such as ${{datasource}})");
            }
        }

        if (!root.TryGetProperty("schemaVersion", out var sv) || sv.GetInt32() != CurrentSchemaVersion)
        {
            problems.Add($"{name}: schemaVersion must be {CurrentSchemaVersion} (Grafana 12)");
        }

        if (root.GetProperty("timezone").GetString() != "${VAR_TIMEZONE}")
        {
            problems.Add($"{name}: timezone must be the city's (${{VAR_TIMEZONE}}), not '{root.GetProperty("timezone").GetString()}'");
        }

        foreach (Match m in Regex.Matches(text, "\"unit\":\\s*\"(?<unit>currency[^\"]*)\""))
        {
            if (m.Groups["unit"].Value != "currency${VAR_CURRENCY}")
            {
                problems.Add($"{name}: currency unit '{m.Groups["unit"].Value}' is hard-coded (use currency${{VAR_CURRENCY}})");
            }
        }

        // What schemaVersion 40-42 migrations would otherwise change (Grafana skips them at 42).
        if (root.TryGetProperty("refresh", out var refresh) && refresh.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{name}: refresh must be a string (schema 40)");
        }

        if (root.TryGetProperty("timepicker", out var picker) && picker.TryGetProperty("time_options", out _))
        {
            problems.Add($"{name}: timepicker.time_options was removed (schema 41)");
        }

        if (Regex.IsMatch(text, "\"viz\":\\s*true") && !Regex.IsMatch(text, "\"tooltip\":\\s*true"))
        {
            problems.Add($"{name}: a field hidden from the visualization must be hidden from the tooltip too (schema 42)");
        }

        return problems;
    }
}
