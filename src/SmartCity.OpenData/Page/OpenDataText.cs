using Microsoft.AspNetCore.Http;
using SmartCity.OperatorConsole.Text;

namespace SmartCity.OpenData.Page;

/// <summary>
/// The public page's words in English and French. The language: <c>?lang=</c> (the switcher: a link, so
/// the page stays cacheable and needs no cookie), else the console's choice (its language cookie, then
/// Accept-Language), else English.
/// </summary>
public sealed class OpenDataText
{
    private static readonly Dictionary<string, (string En, string Fr)> Words = new(StringComparer.Ordinal)
    {
        ["title"] = ("City open data", "Données ouvertes de la ville"),
        ["intro"] = ("Figures on street lighting, air in schools and the state of the city's connected services, free to reuse. Nothing here identifies a person, a classroom or a security device.",
            "Chiffres de l'éclairage public, de l'air dans les écoles et de l'état des services connectés de la ville, libres de réutilisation. Rien ici n'identifie une personne, une salle de classe ou un équipement de sécurité."),
        ["updated"] = ("Updated:", "Mis à jour :"),
        ["licence"] = ("Licence:", "Licence :"),
        ["download"] = ("Download:", "Télécharger :"),
        ["schema"] = ("schema", "schéma"),
        ["catalog"] = ("Catalog for open-data portals (DCAT, JSON-LD)", "Catalogue pour les portails de données ouvertes (DCAT, JSON-LD)"),
        ["suppressed"] = ("Left out, too small to publish without identifying anyone (groups)", "Omis, trop petits pour être publiés sans identifier quiconque (groupes)"),
        ["empty"] = ("No figures yet.", "Pas encore de chiffres."),
        ["pending"] = ("The figures are being prepared; come back in a few minutes.", "Les chiffres sont en préparation ; revenez dans quelques minutes."),
        ["language"] = ("Language", "Langue"),
    };

    private OpenDataText(string language) => Language = language;

    /// <summary><c>en</c> or <c>fr</c>.</summary>
    public string Language { get; }

    public bool French => Language == "fr";

    public string this[string key] => Words.TryGetValue(key, out var w) ? (French ? w.Fr : w.En) : key;

    public static OpenDataText For(HttpRequest request) => new(Choose(request));

    public static string Choose(HttpRequest request) =>
        request.Query["lang"].ToString() is { } asked && ConsoleText.Languages.Contains(asked) ? asked : ConsoleText.Choose(request);
}
