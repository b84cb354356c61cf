using Microsoft.Extensions.Hosting;

namespace SmartCity.Worker.Security;

public static partial class ApiSecurity
{
    /// <summary>
    /// AddAuthentication brings data protection, whose hosted service reads (or creates) the key ring at start
    /// only to have it ready: that loads System.Private.Xml and compiles its reader, about 4 MB of every idle
    /// worker's RSS (docs/performance.md), though only the operator console's cookies and antiforgery tokens use
    /// the keys (API keys do not). Without the warm-up the key ring is read on the console's first request.
    /// The service is internal to ASP.NET Core, so it is found by name; if it is ever renamed, nothing is removed.
    /// Called once every service is registered: each AddDataProtection (the console's antiforgery and cookie
    /// authentication call it again) adds the warm-up anew, which put the key ring back at start whenever the
    /// console was on (the default).
    /// </summary>
    internal static void DeferDataProtectionKeyRing(this IServiceCollection services)
    {
        const string WarmUp = "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService";
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IHostedService) && services[i].ImplementationType?.FullName == WarmUp)
            {
                services.RemoveAt(i);
            }
        }
    }
}
