using Microsoft.AspNetCore.Http;

namespace SmartCity.OperatorConsole.Text;

/// <summary>
/// The console's words in English and French, for one request: the language cookie (the switcher on
/// the page) wins, else the browser's Accept-Language, else English. A small dictionary rather than
/// resource files: two languages, a few dozen strings, one place to add a word in both.
/// </summary>
public sealed partial class ConsoleText
{
    public const string CookieName = "smartcity-lang";
    public static readonly string[] Languages = ["en", "fr"];

    public ConsoleText(IHttpContextAccessor accessor) => Language = Choose(accessor.HttpContext?.Request);

    /// <summary><c>en</c> or <c>fr</c>.</summary>
    public string Language { get; }

    /// <summary>The word for <paramref name="key"/>; the key itself when missing (visible, never a crash).</summary>
    public string this[string key] => Words.TryGetValue(key, out var w) || LightingWords.TryGetValue(key, out w) ? (Language == "fr" ? w.Fr : w.En) : key;

    /// <summary>A severity, state or history kind as named in the API (<c>critical</c>, <c>acknowledged</c>...).</summary>
    public string Term(string apiName) => this["term." + apiName];

    public static string Choose(HttpRequest? request)
    {
        if (request is null)
        {
            return "en";
        }

        if (request.Cookies.TryGetValue(CookieName, out var chosen) && Languages.Contains(chosen))
        {
            return chosen!;
        }

        var best = request.GetTypedHeaders().AcceptLanguage
            .Where(l => l.Quality is null or > 0)
            .OrderByDescending(l => l.Quality ?? 1)
            .Select(l => l.Value.Value?.Split('-')[0].ToLowerInvariant())
            .FirstOrDefault(l => l is not null && Languages.Contains(l));
        return best ?? "en";
    }
}
