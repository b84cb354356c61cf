using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Provisioning;

/// <summary>How the broker is told to re-read its files after a change.</summary>
public sealed record ReloadOptions(string? PidFile = null, string? Command = null);

/// <summary>
/// Device credentials and ACL entries in mosquitto's password and ACL files. Every change holds
/// an exclusive lock (<c>ACL_FILE.lock</c>) so two provisioning runs never interleave, and every
/// file is replaced whole (temporary file in the same folder, fsync, rename): the broker, reading
/// at any moment, sees the old file or the new one, never half of one.
/// </summary>
public sealed partial class DeviceStore(string passwordFile, string aclFile)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    public string PasswordFile { get; } = passwordFile;

    public string AclFile { get; } = aclFile;

    /// <summary>A strong random password: 24 random bytes, base64url (32 characters, no shell or URL special characters).</summary>
    public static string NewPassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Gives the device a password and ACL lines allowing it to publish only its own telemetry,
    /// status and event topics and read its own commands. Refuses an existing account (revoke first).
    /// </summary>
    public async Task AddAsync(string deviceId, DevicePlacement placement, string password, CancellationToken cancellationToken)
    {
        Check(deviceId, placement);
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var passwords = ReadOrEmpty(PasswordFile);
        if (MosquittoPasswordFile.Users(passwords).Contains(deviceId, StringComparer.Ordinal))
        {
            throw new ProvisioningException($"'{deviceId}' already has a password in {PasswordFile}; revoke it first");
        }

        var acl = MosquittoAclFile.Add(ReadOrEmpty(AclFile), deviceId, placement);
        // ACL first: an account never exists without its limits.
        WriteAtomically(AclFile, acl);
        WriteAtomically(PasswordFile, MosquittoPasswordFile.Upsert(passwords, MosquittoPasswordFile.HashLine(deviceId, password)));
    }

    /// <summary>Removes the device's password and ACL block; false when it had neither.</summary>
    public async Task<bool> RevokeAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!MosquittoAclFile.IsValidSegment(deviceId))
        {
            throw new ProvisioningException($"'{deviceId}' is not a device id (1..64 of A-Z a-z 0-9 _ - .)");
        }

        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var passwords = ReadOrEmpty(PasswordFile);
        var hadPassword = MosquittoPasswordFile.Users(passwords).Contains(deviceId, StringComparer.Ordinal);
        var hadAcl = MosquittoAclFile.TryRemove(ReadOrEmpty(AclFile), deviceId, out var acl);
        if (!hadAcl && !hadPassword)
        {
            return false;
        }

        if (hadAcl && !hadPassword)
        {
            WriteAtomically(AclFile, acl);
            return true;
        }

        if (!hadAcl)
        {
            // A password without a block of ours: an account written by hand or by another tool
            // (the worker's, the harness's). Not ours to delete.
            throw new ProvisioningException($"'{deviceId}' has a password but no smartcity-provision ACL block: not a provisioned device, left alone");
        }

        // Password first: the device can no longer log in before its rights go.
        WriteAtomically(PasswordFile, MosquittoPasswordFile.Remove(passwords, deviceId));
        WriteAtomically(AclFile, acl);
        return true;
    }

    public IReadOnlyList<ProvisionedDevice> List()
    {
        var users = MosquittoPasswordFile.Users(ReadOrEmpty(PasswordFile)).ToHashSet(StringComparer.Ordinal);
        return MosquittoAclFile.Devices(ReadOrEmpty(AclFile))
            .Where(d => !d.DeviceId.StartsWith(CityBlockPrefix, StringComparison.Ordinal))
            .Select(d => new ProvisionedDevice(d.DeviceId, d.Lines, users.Contains(d.DeviceId)))
            .ToList();
    }

    /// <summary>
    /// Makes mosquitto re-read both files: SIGHUP to the pid in <see cref="ReloadOptions.PidFile"/>,
    /// or <see cref="ReloadOptions.Command"/> run by /bin/sh (e.g. <c>docker compose kill -s HUP mosquitto</c>).
    /// mosquitto then also disconnects clients whose account is gone.
    /// </summary>
    public static async Task ReloadAsync(ReloadOptions reload, CancellationToken cancellationToken)
    {
        if (reload.PidFile is not null)
        {
            var text = (await File.ReadAllTextAsync(reload.PidFile, cancellationToken).ConfigureAwait(false)).Trim();
            if (!int.TryParse(text, out var pid) || pid <= 1)
            {
                throw new ProvisioningException($"{reload.PidFile} does not hold a process id");
            }

            if (Native.Kill(pid, Native.SigHup) != 0)
            {
                throw new ProvisioningException($"cannot signal process {pid} (from {reload.PidFile}): errno {Marshal.GetLastPInvokeError()}");
            }
        }

        if (reload.Command is not null)
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", reload.Command]) { UseShellExecute = false })
                ?? throw new ProvisioningException($"cannot run '{reload.Command}'");
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new ProvisioningException($"reload command '{reload.Command}' exited with {process.ExitCode}");
            }
        }
    }

    private static void Check(string deviceId, DevicePlacement placement)
    {
        if (!MosquittoAclFile.IsValidSegment(deviceId))
        {
            throw new ProvisioningException($"'{deviceId}' is not a device id (1..64 of A-Z a-z 0-9 _ - .)");
        }

        if (!MosquittoAclFile.IsValidRoot(placement.Root))
        {
            throw new ProvisioningException($"topic root '{placement.Root}' must be segments of A-Z a-z 0-9 _ - . separated by /");
        }

        foreach (var (name, value) in new[] { ("sector", placement.Sector), ("district", placement.District), ("site", placement.Site), ("type", placement.DeviceType) })
        {
            if (!MosquittoAclFile.IsValidSegment(value))
            {
                throw new ProvisioningException($"--{name} '{value}' must be 1..64 of A-Z a-z 0-9 _ - .");
            }
        }
    }

    private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    /// <summary>Temporary file beside the target (same file system, so the rename is atomic), same mode, fsynced, renamed over it.</summary>
    internal static void WriteAtomically(string path, string content)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        // The broker refuses (2.1+) or warns about password/ACL files others can read.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = File.Exists(full) ? File.GetUnixFileMode(full) : UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        StateFile.SyncDirectory(Path.GetDirectoryName(full)!);
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        // FileShare.None is an exclusive flock on Unix: held by one process (and one handle) at a time.
        var lockFile = AclFile + ".lock";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < LockTimeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static partial class Native
    {
        public const int SigHup = 1;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
