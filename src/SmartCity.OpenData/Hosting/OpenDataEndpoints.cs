using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SmartCity.OpenData.Page;
using SmartCity.OpenData.Publishing;

namespace SmartCity.OpenData.Hosting;

/// <summary>
/// Anonymous GETs under <c>/open-data</c>, all served from <see cref="OpenDataStore"/> (memory): the page,
/// the catalog, and each dataset as CSV, JSON and schema, with ETag, Last-Modified and Cache-Control.
/// </summary>
internal static class OpenDataEndpoints
{
    public const string OutputCachePolicy = "open-data";
    public const string OutputCacheTag = "open-data";

    public static void Map(IEndpointRouteBuilder app, string rateLimitPolicy)
    {
        var group = app.MapGroup(OpenDataPage.Path).AllowAnonymous().RequireRateLimiting(rateLimitPolicy).ExcludeFromDescription();
        group.MapGet("", Page).CacheOutput(OutputCachePolicy);
        group.MapGet("/style.css", (HttpContext context) => Serve(context, PublishedFile.Of(Encoding.UTF8.GetBytes(OpenDataPage.Css), "text/css; charset=utf-8"), null));
        group.MapGet("/catalog.jsonld", Catalog);
        group.MapGet("/{file}", File);
    }

    private static IResult Page(HttpContext context, OpenDataStore store, IOptions<OpenDataOptions> options)
    {
        var text = OpenDataText.For(context.Request);
        var headers = context.Response.Headers;
        headers.CacheControl = "public, max-age=" + (int)options.Value.CacheDuration.TotalSeconds;
        headers.ContentLanguage = text.Language;
        headers.Vary = "Accept-Language";
        Protect(context.Response);
        return Results.Content(OpenDataPage.Render(store.Current, text, options.Value), "text/html; charset=utf-8");
    }

    private static IResult Catalog(HttpContext context, OpenDataStore store, IOptions<OpenDataOptions> options)
    {
        if (store.Current is not { } current)
        {
            return NotYet(context);
        }

        var baseUrl = options.Value.PublicBaseUrl is { Length: > 0 } configured ? configured : $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";
        return Serve(context, Publishing.Catalog.Render(current.Snapshot, options.Value, baseUrl), current.Snapshot.Built);
    }

    private static IResult File(string file, HttpContext context, OpenDataStore store)
    {
        if (store.Current is not { } current)
        {
            return NotYet(context);
        }

        return current.Files.TryGetValue(file, out var published) ? Serve(context, published, current.Snapshot.Built) : Results.NotFound();
    }

    /// <summary>The bytes with their validators; 304 when the caller's copy is current (ETag first, then date).</summary>
    private static IResult Serve(HttpContext context, PublishedFile file, DateTimeOffset? modified)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<OpenDataOptions>>().Value;
        var response = context.Response;
        var typed = response.GetTypedHeaders();
        typed.ETag = EntityTagHeaderValue.Parse(file.ETag);
        var lastModified = modified is { } m ? new DateTimeOffset(m.Ticks - (m.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero) : (DateTimeOffset?)null;
        typed.LastModified = lastModified;
        typed.CacheControl = new CacheControlHeaderValue { Public = true, MaxAge = options.CacheDuration };
        // Open data: any portal or page may fetch it from a browser.
        response.Headers.AccessControlAllowOrigin = "*";
        Protect(response);

        var request = context.Request.GetTypedHeaders();
        var notModified = request.IfNoneMatch is { Count: > 0 } tags
            ? tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(typed.ETag, useStrongComparison: false))
            : request.IfModifiedSince is { } since && lastModified is { } lm && lm <= since;
        return notModified ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Bytes(file.Content, file.MediaType);
    }

    private static IResult NotYet(HttpContext context)
    {
        // Only before the very first build: say when to come back rather than serve an empty file.
        context.Response.Headers.RetryAfter = "60";
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The open data are being built", detail: "Try again in a minute.");
    }

    private static void Protect(HttpResponse response)
    {
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }
}
