using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>What a portal harvesting the feed sees: an anonymous DCAT catalog, files with validators and caching headers.</summary>
[Collection(OpenDataWeekFixture.Name)]
public sealed class OpenDataEndpointTests(OpenDataWeek week)
{
    [Fact]
    public async Task Catalog_Anonymous_DcatDatasetsWithLicencePublisherPeriodicityAndReachableDistributions()
    {
        using var client = week.Worker.CreateClient(null);
        using var response = await client.GetAsync("/open-data/catalog.jsonld");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/ld+json", response.Content.Headers.ContentType?.MediaType);
        var catalog = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("dcat:Catalog", catalog.GetProperty("@type").GetString());
        Assert.Equal("http://www.w3.org/ns/dcat#", catalog.GetProperty("@context").GetProperty("dcat").GetString());
        var datasets = catalog.GetProperty("dcat:dataset").EnumerateArray().ToList();
        Assert.Equal(["lighting-outages", "lighting-energy", "school-air", "service-status"], datasets.Select(d => d.GetProperty("dct:identifier").GetString()));
        foreach (var d in datasets)
        {
            Assert.Equal("dcat:Dataset", d.GetProperty("@type").GetString());
            Assert.Equal(["en", "fr"], d.GetProperty("dct:title").EnumerateArray().Select(t => t.GetProperty("@language").GetString()));
            Assert.Equal("https://www.etalab.gouv.fr/licence-ouverte-open-licence/", d.GetProperty("dct:license").GetProperty("@id").GetString());
            Assert.Equal("Ville de Test", d.GetProperty("dct:publisher").GetProperty("foaf:name").GetString());
            Assert.EndsWith("/frequency/WEEKLY", d.GetProperty("dct:accrualPeriodicity").GetProperty("@id").GetString(), StringComparison.Ordinal);
            Assert.Equal("xsd:dateTime", d.GetProperty("dct:modified").GetProperty("@type").GetString());
            var distributions = d.GetProperty("dcat:distribution").EnumerateArray().ToList();
            Assert.Equal(["text/csv", "application/json"], distributions.Select(x => x.GetProperty("dcat:mediaType").GetString()));
            foreach (var x in distributions)
            {
                var url = new Uri(x.GetProperty("dcat:downloadURL").GetProperty("@id").GetString()!);
                Assert.Equal(week.Worker.BaseAddress.Authority, url.Authority);
                using var file = await client.GetAsync(url.PathAndQuery);
                Assert.Equal(HttpStatusCode.OK, file.StatusCode);
                Assert.Equal(x.GetProperty("dcat:mediaType").GetString(), file.Content.Headers.ContentType?.MediaType);
            }
        }
    }

    [Fact]
    public async Task DatasetCsv_Anonymous_HeaderMatchesSchemaAndCachingHeadersAnd304WhenCurrent()
    {
        using var client = week.Worker.CreateClient(null);
        using var response = await client.GetAsync("/open-data/school-air.csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var csv = await response.Content.ReadAsStringAsync();
        var schema = JsonDocument.Parse(await client.GetStringAsync("/open-data/school-air.schema.json")).RootElement;
        Assert.Equal(string.Join(',', schema.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString())), csv.Split("\r\n")[0]);
        var json = JsonDocument.Parse(await client.GetStringAsync("/open-data/school-air.json")).RootElement;
        Assert.Equal(json.GetProperty("rows").GetArrayLength() + 2, csv.Split("\r\n").Length); // header, rows, final line break

        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.True(response.Headers.CacheControl is { Public: true, MaxAge: not null });

        using var again = new HttpRequestMessage(HttpMethod.Get, "/open-data/school-air.csv");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var byDate = new HttpRequestMessage(HttpMethod.Get, "/open-data/school-air.csv");
        byDate.Headers.IfModifiedSince = response.Content.Headers.LastModified;
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(byDate)).StatusCode);

        using var stale = new HttpRequestMessage(HttpMethod.Get, "/open-data/school-air.csv");
        stale.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"not-the-current-one\""));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(stale)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/open-data/security.csv")).StatusCode);
    }

    [Fact]
    public async Task Page_SecondRequest_ServedFromTheOutputCachePerLanguage()
    {
        using var client = week.Worker.CreateClient(null);
        using var first = new HttpRequestMessage(HttpMethod.Get, "/open-data");
        first.Headers.AcceptLanguage.ParseAdd("fr-FR,fr;q=0.9");
        var fr = await client.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, fr.StatusCode);
        Assert.Contains("<html lang=\"fr\">", await fr.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var second = new HttpRequestMessage(HttpMethod.Get, "/open-data");
        second.Headers.AcceptLanguage.ParseAdd("fr-CA,fr;q=0.8");
        var cached = await client.SendAsync(second);
        // The output cache answers with an Age header: the page was not rendered again.
        Assert.NotNull(cached.Headers.Age);
        Assert.Contains("<html lang=\"fr\">", await cached.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var english = new HttpRequestMessage(HttpMethod.Get, "/open-data");
        english.Headers.AcceptLanguage.ParseAdd("en-GB");
        Assert.Contains("<html lang=\"en\">", await (await client.SendAsync(english)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
