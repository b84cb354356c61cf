using System.Diagnostics;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>Runs only as root (mounting a tmpfs needs it); otherwise reported as skipped with the reason.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Skip = "needs root on Linux to mount a small tmpfs (a real full disk); run the tests as root to include it";
        }
    }
}

/// <summary>A real, small file system: a tmpfs of a given size, mounted for one test and unmounted after.</summary>
public sealed class TinyFileSystem : IDisposable
{
    public TinyFileSystem(string size)
    {
        Root = Path.Combine(Path.GetTempPath(), "smartcity-tinyfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", Root);
    }

    public string Root { get; }

    /// <summary>chattr +i / -i: an immutable folder refuses to create or delete files in it, even for root (EPERM).</summary>
    public static void SetImmutable(string path, bool immutable) => Run("chattr", immutable ? "+i" : "-i", path);

    public void Dispose()
    {
        // Lazy: a failed test may still hold a file open; the mount goes when it closes.
        Run("umount", "-l", Root);
        Directory.Delete(Root);
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
        }
    }
}
