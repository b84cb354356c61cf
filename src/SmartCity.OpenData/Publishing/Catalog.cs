using System.Globalization;
using System.Text.Json;
using SmartCity.OpenData.Datasets;

namespace SmartCity.OpenData.Publishing;

/// <summary>
/// The catalog as DCAT in JSON-LD (dcat:Catalog of dcat:Dataset with their dcat:Distribution), the
/// vocabulary of DCAT-AP which data.gouv.fr and the European data portal harvest.
/// </summary>
public static class Catalog
{
    public const string MediaType = "application/ld+json";

    public static PublishedFile Render(OpenDataSnapshot snapshot, OpenDataOptions options, string baseUrl)
    {
        var root = baseUrl.TrimEnd('/') + "/open-data/";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("@context");
            json.WriteString("dcat", "http://www.w3.org/ns/dcat#");
            json.WriteString("dct", "http://purl.org/dc/terms/");
            json.WriteString("foaf", "http://xmlns.com/foaf/0.1/");
            json.WriteString("xsd", "http://www.w3.org/2001/XMLSchema#");
            json.WriteEndObject();
            json.WriteString("@id", root + "catalog.jsonld");
            json.WriteString("@type", "dcat:Catalog");
            Texts(json, "dct:title", "SmartCity open data", "Données ouvertes SmartCity");
            Common(json, snapshot, options);
            json.WriteString("foaf:homepage", root.TrimEnd('/'));
            json.WriteStartArray("dcat:dataset");
            foreach (var table in snapshot.Tables)
            {
                Dataset(json, table.Definition, snapshot, options, root);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return PublishedFile.Of(buffer.ToArray(), MediaType);
    }

    /// <summary>The EU frequency vocabulary term closest to the refresh interval.</summary>
    public static string Frequency(TimeSpan interval) =>
        "http://publications.europa.eu/resource/authority/frequency/"
        + (interval <= TimeSpan.FromHours(1) ? "HOURLY" : interval <= TimeSpan.FromDays(1) ? "DAILY" : "WEEKLY");

    private static void Dataset(Utf8JsonWriter json, DatasetDefinition d, OpenDataSnapshot snapshot, OpenDataOptions options, string root)
    {
        json.WriteStartObject();
        json.WriteString("@id", root + d.Id);
        json.WriteString("@type", "dcat:Dataset");
        json.WriteString("dct:identifier", d.Id);
        Texts(json, "dct:title", d.TitleEn, d.TitleFr);
        Texts(json, "dct:description", d.DescriptionEn, d.DescriptionFr);
        Common(json, snapshot, options);
        json.WriteStartObject("dct:accrualPeriodicity");
        json.WriteString("@id", Frequency(options.RefreshInterval));
        json.WriteEndObject();
        json.WriteStartArray("dcat:keyword");
        json.WriteStringValue("smart city");
        json.WriteStringValue(d.Id);
        json.WriteEndArray();
        json.WriteStartArray("dcat:distribution");
        foreach (var (extension, mediaType, format) in new[] { ("csv", DatasetFiles.CsvMediaType, "CSV"), ("json", DatasetFiles.JsonMediaType, "JSON") })
        {
            json.WriteStartObject();
            json.WriteString("@id", root + d.Id + "." + extension);
            json.WriteString("@type", "dcat:Distribution");
            Texts(json, "dct:title", $"{d.TitleEn} ({format})", $"{d.TitleFr} ({format})");
            Reference(json, "dcat:downloadURL", root + d.Id + "." + extension);
            Reference(json, "dcat:accessURL", root + d.Id + "." + extension);
            json.WriteString("dcat:mediaType", mediaType);
            json.WriteString("dct:format", format);
            Reference(json, "dct:conformsTo", root + d.Id + ".schema.json");
            Reference(json, "dct:license", options.LicenceUrl);
            Modified(json, snapshot.Built);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Common(Utf8JsonWriter json, OpenDataSnapshot snapshot, OpenDataOptions options)
    {
        Reference(json, "dct:license", options.LicenceUrl);
        json.WriteString("dct:rights", options.LicenceName);
        json.WriteStartObject("dct:publisher");
        json.WriteString("@type", "foaf:Organization");
        json.WriteString("foaf:name", options.Publisher);
        json.WriteEndObject();
        Modified(json, snapshot.Built);
        json.WriteStartArray("dct:language");
        json.WriteStringValue("en");
        json.WriteStringValue("fr");
        json.WriteEndArray();
    }

    private static void Modified(Utf8JsonWriter json, DateTimeOffset time)
    {
        json.WriteStartObject("dct:modified");
        json.WriteString("@value", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        json.WriteString("@type", "xsd:dateTime");
        json.WriteEndObject();
    }

    private static void Reference(Utf8JsonWriter json, string name, string uri)
    {
        json.WriteStartObject(name);
        json.WriteString("@id", uri);
        json.WriteEndObject();
    }

    private static void Texts(Utf8JsonWriter json, string name, string en, string fr)
    {
        json.WriteStartArray(name);
        foreach (var (text, language) in new[] { (en, "en"), (fr, "fr") })
        {
            json.WriteStartObject();
            json.WriteString("@value", text);
            json.WriteString("@language", language);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
