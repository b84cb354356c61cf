using Microsoft.AspNetCore.Http;

namespace SmartCity.OperatorConsole.Security;

/// <summary>
/// The console's response headers: a content security policy with no inline script or style (the page's
/// JS and CSS are files of its own), no framing (clickjacking), no MIME sniffing, no referrer to other
/// sites, and no caching of pages that show alerts.
/// </summary>
internal sealed class SecureHeaders(string contentSecurityPolicy)
{
    public static SecureHeaders For(ConsoleOptions options)
    {
        var images = "'self' data:";
        if (!string.IsNullOrEmpty(options.TileUrl) && Uri.TryCreate(options.TileUrl.Split('{')[0], UriKind.Absolute, out var tiles))
        {
            images += " " + tiles.GetLeftPart(UriPartial.Authority);
        }

        return new SecureHeaders(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + images + "; connect-src 'self'; font-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    }

    public void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = contentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        // The map page loosens it to the console's origin for its tile server; every other page sends none out.
        if (!headers.ContainsKey("Referrer-Policy"))
        {
            headers["Referrer-Policy"] = "same-origin";
        }

        if (!headers.ContainsKey("Cache-Control"))
        {
            headers.CacheControl = "no-store";
        }
    }
}
