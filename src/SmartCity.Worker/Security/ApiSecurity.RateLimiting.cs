using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace SmartCity.Worker.Security;

/// <summary>How often: a fixed window per identity (Api:RateLimit), and a 429 problem with Retry-After beyond it.</summary>
public static partial class ApiSecurity
{
    private static void AddApiRateLimiting(IServiceCollection services) =>
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(RateLimitPolicy, PartitionByIdentity);
            o.OnRejected = WriteTooManyRequestsAsync;
        });

    private static RateLimitPartition<string> PartitionByIdentity(HttpContext context)
    {
        var limits = context.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.RateLimit;
        // Per identity; unauthenticated callers (including wrong keys) per remote address,
        // which also slows down anyone guessing keys.
        var partition = context.User.Identity is { IsAuthenticated: true, Name: { } name }
            ? "key:" + name
            : "ip:" + context.Connection.RemoteIpAddress;
        return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limits.PermitLimit,
            Window = limits.Window,
            QueueLimit = 0,
        });
    }

    private static async ValueTask WriteTooManyRequestsAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "too many requests",
                Detail = string.Create(CultureInfo.InvariantCulture, $"Rate limit of this identity reached (Api:RateLimit); retry in {seconds} s."),
            },
        }).ConfigureAwait(false);
    }
}
