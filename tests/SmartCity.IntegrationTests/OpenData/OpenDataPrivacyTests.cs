using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OpenData;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>Privacy by construction: security data reach the worker, and none of it ever leaves through the open data.</summary>
[Collection(OpenDataWeekFixture.Name)]
public sealed class OpenDataPrivacyTests(OpenDataWeek week)
{
    private static readonly string[] SecurityTypes = ["door_contact", "motion_detector", "camera", "alarm_panel", "panic_button"];

    [Fact]
    public async Task Exports_SecurityEventsThroughThePipeline_NoSecurityDatumInAnyOutput()
    {
        // The security devices and events are really there: in the registry, the alert log and InfluxDB.
        var registry = week.Worker.Services.GetRequiredService<DeviceRegistry>();
        foreach (var id in OpenDataWeek.SecurityMarkers.Where(m => m.Contains("-secret-", StringComparison.Ordinal) && !m.StartsWith("secret", StringComparison.Ordinal)))
        {
            Assert.Equal("security", registry.Find(id)?.Sector);
        }

        Assert.Equal(5, registry.Devices.Count(d => d.Sector == "security"));
        Assert.True(await week.Database.CountAsync("SELECT count(detail) FROM security_event WHERE \"site\" = 'secret-site-4716'") >= 3);
        // Alert transitions reach the spool from the alerting loop of their own, after the readings the fixture waited for.
        Assert.True(await StoredQuery.WaitForAsync(week.Worker.Metrics, () => week.Database.CountAsync("SELECT count(alert_id) FROM alert_transition WHERE \"device_id\" = 'door-secret-4711'"), n => n >= 1, TimeSpan.FromSeconds(120)) >= 1);

        // Every output a citizen or a portal can get: catalog, each dataset in each format, the page in both languages, the copies on disk.
        using var client = week.Worker.CreateClient(null);
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        var catalog = await client.GetStringAsync("/open-data/catalog.jsonld");
        outputs["catalog"] = catalog;
        var downloads = JsonDocument.Parse(catalog).RootElement.GetProperty("dcat:dataset").EnumerateArray()
            .SelectMany(d => d.GetProperty("dcat:distribution").EnumerateArray())
            .SelectMany(d => new[] { d.GetProperty("dcat:downloadURL").GetProperty("@id").GetString()!, d.GetProperty("dct:conformsTo").GetProperty("@id").GetString()! })
            .Distinct()
            .ToList();
        Assert.Equal(4 * 3, downloads.Count); // CSV, JSON and schema per dataset
        foreach (var url in downloads)
        {
            outputs[url] = await client.GetStringAsync(new Uri(url).PathAndQuery);
        }

        outputs["page-en"] = await client.GetStringAsync("/open-data?lang=en");
        outputs["page-fr"] = await client.GetStringAsync("/open-data?lang=fr");
        var options = week.Worker.Services.GetRequiredService<IOptions<OpenDataOptions>>().Value;
        var directory = options.ResolveDirectory(week.Worker.Services.GetRequiredService<IOptions<AlertingOptions>>().Value.StateFile);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            outputs[file] = await File.ReadAllTextAsync(file);
        }

        Assert.True(outputs.Count >= 12, string.Join(", ", outputs.Keys));
        foreach (var (name, text) in outputs)
        {
            foreach (var marker in OpenDataWeek.SecurityMarkers.Concat(SecurityTypes))
            {
                Assert.False(text.Contains(marker, StringComparison.OrdinalIgnoreCase), $"{name} contains '{marker}'");
            }

            // No value, cell or row is the security sector (the page's prose may say the word).
            Assert.DoesNotContain("\"security\"", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("security,", text, StringComparison.OrdinalIgnoreCase);
        }

        // Nor a device of any kind: no lamp or classroom id either.
        foreach (var id in week.Week.Lamps.Select(l => l.Id).Concat(week.Week.Classrooms.Select(c => c.Id)))
        {
            Assert.DoesNotContain(outputs, o => o.Value.Contains(id, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("security")]
    [InlineData("Security")]
    public void Start_SecuritySectorConfigured_RefusedWithTheReason(string sector)
    {
        using var app = WorkerHost.Build([], builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OpenData:Enabled"] = "true",
            ["OpenData:Sectors:0"] = "lighting",
            ["OpenData:Sectors:1"] = sector,
        }));

        var failures = ConfigurationCheck.ValidateAll(app.Services);

        Assert.Contains(failures, f => f.Contains("OpenData:Sectors", StringComparison.Ordinal) && f.Contains("never be published", StringComparison.Ordinal));
    }

    [Fact]
    public void Start_Defaults_OffAndOnlyLightingAndEducationWithMinimumGroups()
    {
        using var app = WorkerHost.Build([]);
        var options = app.Services.GetRequiredService<IOptions<OpenDataOptions>>().Value;

        Assert.DoesNotContain(ConfigurationCheck.ValidateAll(app.Services), f => f.Contains("OpenData", StringComparison.Ordinal));
        Assert.False(options.Enabled);
        Assert.Equal(["lighting", "education"], options.EffectiveSectors);
        Assert.False(options.Publishes("security"));
        Assert.True(options.MinLampsPerDistrict >= 2 && options.MinSensorsPerSchool >= 2 && options.MinDevicesPerSector >= 2);
    }
}
