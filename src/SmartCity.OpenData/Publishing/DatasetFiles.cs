using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SmartCity.OpenData.Datasets;

namespace SmartCity.OpenData.Publishing;

/// <summary>A file as served: its bytes, media type and entity tag (a hash of the bytes).</summary>
public sealed record PublishedFile(byte[] Content, string MediaType, string ETag)
{
    public static PublishedFile Of(byte[] content, string mediaType) =>
        new(content, mediaType, "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + "\"");
}

/// <summary>
/// A dataset as CSV (RFC 4180, UTF-8, comma, invariant numbers), as JSON (rows as objects) and its
/// Table Schema (frictionlessdata.io), which validators such as data.gouv.fr's read.
/// </summary>
public static class DatasetFiles
{
    public const string CsvMediaType = "text/csv";
    public const string JsonMediaType = "application/json";

    public static PublishedFile Csv(DatasetTable table)
    {
        var csv = new StringBuilder();
        csv.Append(string.Join(',', table.Definition.Columns.Select(c => c.Name))).Append("\r\n");
        foreach (var row in table.Rows)
        {
            csv.Append(string.Join(',', row.Select(CsvValue))).Append("\r\n");
        }

        return PublishedFile.Of(Encoding.UTF8.GetBytes(csv.ToString()), CsvMediaType + "; charset=utf-8");
    }

    public static PublishedFile Json(DatasetTable table, DateTimeOffset modified, string licence)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("dataset", table.Definition.Id);
            json.WriteString("title", table.Definition.TitleEn);
            json.WriteString("modified", modified.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("license", licence);
            json.WriteString("schema", table.Definition.Id + ".schema.json");
            json.WriteNumber("suppressed_groups", table.SuppressedGroups);
            json.WriteStartArray("rows");
            foreach (var row in table.Rows)
            {
                json.WriteStartObject();
                for (var i = 0; i < table.Definition.Columns.Count; i++)
                {
                    json.WritePropertyName(table.Definition.Columns[i].Name);
                    WriteValue(json, row[i]);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return PublishedFile.Of(buffer.ToArray(), JsonMediaType);
    }

    public static PublishedFile Schema(DatasetDefinition definition)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("$schema", "https://specs.frictionlessdata.io/schemas/table-schema.json");
            json.WriteString("name", definition.Id);
            json.WriteString("title", definition.TitleEn);
            json.WriteString("description", definition.DescriptionEn);
            json.WriteStartArray("fields");
            foreach (var c in definition.Columns)
            {
                json.WriteStartObject();
                json.WriteString("name", c.Name);
                json.WriteString("type", c.Type);
                json.WriteString("title", c.TitleEn);
                json.WriteString("description", c.Description);
                if (c.Unit is { } unit)
                {
                    json.WriteString("unit", unit);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("primaryKey");
            definition.PrimaryKey.ToList().ForEach(json.WriteStringValue);
            json.WriteEndArray();
            json.WriteStartArray("missingValues");
            json.WriteStringValue("");
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return PublishedFile.Of(buffer.ToArray(), "application/schema+json");
    }

    /// <summary>Reads back a dataset written by <see cref="Json"/> (the copy kept on disk).</summary>
    public static (DatasetTable Table, DateTimeOffset Modified) ReadJson(DatasetDefinition definition, byte[] content)
    {
        using var document = JsonDocument.Parse(content);
        var root = document.RootElement;
        var rows = root.GetProperty("rows").EnumerateArray()
            .Select(r => definition.Columns.Select(c => ReadValue(c, r.GetProperty(c.Name))).ToArray())
            .ToList();
        var modified = DateTimeOffset.Parse(root.GetProperty("modified").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        return (new DatasetTable(definition, rows, root.GetProperty("suppressed_groups").GetInt32()), modified);
    }

    private static object? ReadValue(DatasetColumn column, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when column.Type == "integer" => value.GetInt64(),
        JsonValueKind.Number => value.GetDouble(),
        _ => value.GetString(),
    };

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case long l: json.WriteNumberValue(l); break;
            case double d: json.WriteNumberValue(d); break;
            default: json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    /// <summary>A value as text: invariant numbers (a dot, no grouping), empty for missing.</summary>
    public static string Text(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string CsvValue(object? value)
    {
        var text = Text(value);
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }
}
