using SmartCity.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Ingestion;

/// <summary>
/// The idle worker's own footprint (issue 25): the real worker binary, connected to the real broker, as its own
/// process, so /proc shows its assemblies and its RSS, not the test host's.
/// </summary>
public sealed class WorkerFootprintTests(ITestOutputHelper output)
{
    /// <summary>
    /// The console's stack (MVC, Razor Pages, Components, antiforgery, its cookie authentication): registered in the
    /// worker's container it was mapped by every idle worker, about 20 MB of RSS; now built on the console's first
    /// request in a container of its own (docs/performance.md). Mvc.Core is not listed: hosting maps it at start
    /// reading the entry assembly's attributes, console on or off.
    /// </summary>
    private static readonly string[] ConsoleStackAssemblies =
    [
        "Microsoft.AspNetCore.Mvc.RazorPages.dll",
        "Microsoft.AspNetCore.Mvc.Razor.dll",
        "Microsoft.AspNetCore.Mvc.ViewFeatures.dll",
        "Microsoft.AspNetCore.Razor.Runtime.dll",
        "Microsoft.AspNetCore.Components.Endpoints.dll",
        "Microsoft.AspNetCore.Antiforgery.dll",
        "Microsoft.AspNetCore.Authentication.Cookies.dll",
    ];

    /// <summary>
    /// The operator console's stack and what only it needs: a worker without the console compiled methods naming
    /// them (or warmed data protection's key ring) and so mapped all of them, 17 MB of its idle RSS on the 2-core
    /// machine (docs/performance.md).
    /// </summary>
    private static readonly string[] ConsoleOnlyAssemblies =
    [
        .. ConsoleStackAssemblies,
        "System.Private.Xml.dll",
        // Otherwise only the minimal-API endpoints' request delegates, built from expression trees at the first
        // routing until the worker's are generated at compile time (EnableRequestDelegateGenerator).
        "System.Linq.Expressions.dll",
    ];

    /// <summary>
    /// What a default worker (console on) needs only once the console answers a person: data protection's key ring,
    /// System.Private.Xml with its XML reader, read at start by the warm-up service that each AddDataProtection (the
    /// console's antiforgery and cookie authentication) added again. 3-4 MB of the idle RSS (docs/performance.md).
    /// </summary>
    private static readonly string[] ConsoleFirstRequestAssemblies = ["System.Private.Xml.dll", "System.Private.Xml.Linq.dll", "System.Xml.XDocument.dll", .. ConsoleStackAssemblies];

    /// <summary>
    /// Peak RSS of an idle worker with its defaults (console on). Measured 144-157 MB on the shared 2-core machine
    /// (loaded or quiet: RSS at idle hardly depends on the load); room for noise, while loading another stack of
    /// assemblies or a second copy of the registry at start fails it.
    /// </summary>
    private const long MaxIdlePeakRssMb = 200;

    [Fact]
    public async Task ConsoleDisabled_IdleWorker_MapsNoAssemblyOnlyTheConsoleNeeds()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = WorkerProcess.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        settings["Console:Enabled"] = "false";
        await using var worker = await WorkerProcess.StartAsync(settings);

        // Connected (StartAsync waits for it) and serving: every start-up service has run.
        var mapped = await ServedOnceMappedFilesAsync(worker);
        var loaded = ConsoleOnlyAssemblies.Where(mapped.Contains).ToList();
        Assert.True(loaded.Count == 0, $"a worker without the console mapped {string.Join(", ", loaded)}");
        Assert.Contains("SmartCity.Worker.dll", mapped);
    }

    [Fact]
    public async Task DefaultSettings_IdleWorker_MapsNothingOnlyTheConsolesFirstRequestNeeds()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = WorkerProcess.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        await using var worker = await WorkerProcess.StartAsync(settings);

        // Served once: routing (every endpoint, the console's pages too) and every start-up service have run.
        var mapped = await ServedOnceMappedFilesAsync(worker);
        var loaded = ConsoleFirstRequestAssemblies.Where(mapped.Contains).ToList();
        Assert.True(loaded.Count == 0, $"an idle worker mapped {string.Join(", ", loaded)} before any console request");

        // Deferred, not lost: the login page's form still gets the console's antiforgery cookie (its token is
        // protected with the key ring, read now).
        using var anonymous = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        using var login = await anonymous.GetAsync("/console/login");
        Assert.Equal(System.Net.HttpStatusCode.OK, login.StatusCode);
        Assert.Contains(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("smartcity-console-csrf=", StringComparison.Ordinal) && c.Contains("path=/console", StringComparison.OrdinalIgnoreCase));
        var afterLogin = MappedFiles(worker.Pid);
        Assert.Contains("System.Private.Xml.dll", afterLogin);
        // Built on that first request: the assertion above is not passed by a worker that never loads the stack.
        Assert.All(ConsoleStackAssemblies, a => Assert.Contains(a, afterLogin));
        output.WriteLine($"FIGURES after_console_login_rss={WorkerMemoryTests.PeakRssKb(worker.Pid) / 1024} MB (peak)");
    }

    [Fact]
    public async Task DefaultSettings_IdleWorker_PeakRssWithinBound()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = WorkerProcess.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        await using var worker = await WorkerProcess.StartAsync(settings);

        var (status, _) = await worker.GetStatusAsync("/healthz");
        var peakMb = WorkerMemoryTests.PeakRssKb(worker.Pid) / 1024;
        output.WriteLine($"FIGURES idle_peak_rss={peakMb} MB (bound {MaxIdlePeakRssMb} MB)");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        Assert.True(peakMb <= MaxIdlePeakRssMb, $"an idle worker reached {peakMb} MB of RSS, above {MaxIdlePeakRssMb} MB");
    }

    /// <summary>Answers /healthz once (so routing is built), then the file names the worker has mapped.</summary>
    private async Task<HashSet<string>> ServedOnceMappedFilesAsync(WorkerProcess worker)
    {
        var (status, _) = await worker.GetStatusAsync("/healthz");
        var mapped = MappedFiles(worker.Pid);
        output.WriteLine($"FIGURES idle_peak_rss={WorkerMemoryTests.PeakRssKb(worker.Pid) / 1024} MB mapped_files={mapped.Count}");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        return mapped;
    }

    /// <summary>File names of the process's file-backed mappings (/proc/PID/maps).</summary>
    private static HashSet<string> MappedFiles(int pid) =>
        File.ReadLines($"/proc/{pid}/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => Path.GetFileName(fields[5].Trim()))
            .ToHashSet(StringComparer.Ordinal);
}
