using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using SmartCity.OpenData.Datasets;
using SmartCity.OpenData.Publishing;

namespace SmartCity.OpenData.Page;

/// <summary>
/// The public page: each dataset as a table with its download links. Plain HTML written here (no
/// script, no form, no session): it is the same for every visitor of a language, so the output cache
/// serves it. Each cell carries its exported value (<c>data-value</c>) beside the localised text.
/// </summary>
public static class OpenDataPage
{
    public const string Path = "/open-data";

    public static string Render(PublishedSnapshot? published, OpenDataText text, OpenDataOptions options)
    {
        var html = new StringBuilder();
        var e = HtmlEncoder.Default;
        html.Append("<!DOCTYPE html>\n<html lang=\"").Append(text.Language).Append("\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(e.Encode(text["title"])).Append("</title>")
            .Append("<link rel=\"stylesheet\" href=\"").Append(Path).Append("/style.css\">")
            .Append("<link rel=\"alternate\" type=\"application/ld+json\" href=\"").Append(Path).Append("/catalog.jsonld\">")
            .Append("</head><body><header><h1>").Append(e.Encode(text["title"])).Append("</h1>")
            .Append("<nav aria-label=\"").Append(e.Encode(text["language"])).Append("\">")
            .Append("<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\"").Append(text.French ? "" : " aria-current=\"true\"").Append(">English</a> ")
            .Append("<a href=\"?lang=fr\" hreflang=\"fr\" lang=\"fr\"").Append(text.French ? " aria-current=\"true\"" : "").Append(">Français</a></nav></header><main>")
            .Append("<p>").Append(e.Encode(text["intro"])).Append("</p>");
        if (published is null)
        {
            html.Append("<p id=\"pending\">").Append(e.Encode(text["pending"])).Append("</p>");
        }
        else
        {
            var culture = Numbers(text.French);
            html.Append("<p>").Append(e.Encode(text["updated"])).Append(" <time id=\"updated\" datetime=\"")
                .Append(published.Snapshot.Built.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).Append("\">")
                .Append(e.Encode(published.Snapshot.Built.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))).Append(" UTC</time>. ")
                .Append(e.Encode(text["licence"])).Append(" <a href=\"").Append(e.Encode(options.LicenceUrl)).Append("\">").Append(e.Encode(options.LicenceName)).Append("</a>. ")
                .Append("<a href=\"").Append(Path).Append("/catalog.jsonld\">").Append(e.Encode(text["catalog"])).Append("</a></p>");
            foreach (var table in published.Snapshot.Tables)
            {
                Table(html, table, text, culture);
            }
        }

        return html.Append("</main></body></html>").ToString();
    }

    /// <summary>
    /// Numbers as each language writes them (1,234.5 / 1 234,5). Built by hand: the worker runs with
    /// invariant globalization (no ICU), where no culture but the invariant one exists.
    /// </summary>
    private static NumberFormatInfo Numbers(bool french) => new()
    {
        NumberDecimalSeparator = french ? "," : ".",
        NumberGroupSeparator = french ? "\u202F" : ",",
    };

    private static void Table(StringBuilder html, DatasetTable table, OpenDataText text, NumberFormatInfo culture)
    {
        var e = HtmlEncoder.Default;
        var d = table.Definition;
        html.Append("<section id=\"").Append(d.Id).Append("\"><h2>").Append(e.Encode(text.French ? d.TitleFr : d.TitleEn)).Append("</h2>")
            .Append("<p>").Append(e.Encode(text.French ? d.DescriptionFr : d.DescriptionEn)).Append("</p><p>").Append(e.Encode(text["download"])).Append(' ')
            .Append("<a href=\"").Append(Path).Append('/').Append(d.Id).Append(".csv\">CSV</a> · ")
            .Append("<a href=\"").Append(Path).Append('/').Append(d.Id).Append(".json\">JSON</a> · ")
            .Append("<a href=\"").Append(Path).Append('/').Append(d.Id).Append(".schema.json\">").Append(e.Encode(text["schema"])).Append("</a></p>");
        if (table.Rows.Count == 0)
        {
            html.Append("<p class=\"empty\">").Append(e.Encode(text["empty"])).Append("</p>");
        }
        else
        {
            html.Append("<div class=\"scroll\"><table><thead><tr>");
            foreach (var c in d.Columns)
            {
                html.Append("<th scope=\"col\" data-column=\"").Append(c.Name).Append("\">").Append(e.Encode(text.French ? c.TitleFr : c.TitleEn)).Append("</th>");
            }

            html.Append("</tr></thead><tbody>");
            foreach (var row in table.Rows)
            {
                html.Append("<tr>");
                for (var i = 0; i < d.Columns.Count; i++)
                {
                    html.Append("<td data-column=\"").Append(d.Columns[i].Name).Append("\" data-value=\"").Append(e.Encode(DatasetFiles.Text(row[i]))).Append("\">")
                        .Append(e.Encode(row[i] is long or double ? ((IFormattable)row[i]!).ToString(row[i] is double ? "#,##0.###" : "#,##0", culture) : DatasetFiles.Text(row[i])))
                        .Append("</td>");
                }

                html.Append("</tr>");
            }

            html.Append("</tbody></table></div>");
        }

        if (table.SuppressedGroups > 0)
        {
            html.Append("<p class=\"note\">").Append(e.Encode(text["suppressed"])).Append(text.French ? " : " : ": ").Append(table.SuppressedGroups.ToString(culture)).Append(".</p>");
        }

        html.Append("</section>");
    }

    public const string Css = """
        body { font-family: "Liberation Sans", Arial, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem; color: #1b1b1b; line-height: 1.45; }
        header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .5rem; border-bottom: 3px solid #000091; }
        h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
        nav a { margin-left: .5rem; } nav a[aria-current] { font-weight: bold; text-decoration: none; }
        a { color: #000091; } .scroll { overflow-x: auto; }
        table { border-collapse: collapse; min-width: 60%; } th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
        td[data-value] { font-variant-numeric: tabular-nums; } thead { background: #eef; } .note, .empty { color: #555; font-size: .9rem; }
        """;
}
