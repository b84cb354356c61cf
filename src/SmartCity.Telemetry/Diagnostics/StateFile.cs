using System.Runtime.InteropServices;
using System.Text.Json;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// The one way the worker replaces a state file (registry.json, alerts.json, talq-cms.json, the lighting
/// and rollup state, the console's accounts): written to a temporary file beside it, flushed to disk,
/// renamed over the old one, then the directory fsynced. A crash leaves the old file or the new one, never
/// half of one; the directory fsync makes the rename itself survive a power loss (without it the directory
/// entry can still name the old file, or, for a new file, nothing, after the data was acknowledged).
/// </summary>
public static class StateFile
{
    /// <summary>
    /// Replaces <paramref name="path"/> with what <paramref name="write"/> writes; returns the bytes written.
    /// Throws what the disk throws (the caller counts and retries it); a temporary file left by a failed
    /// write is deleted, since it would hold the very space a full disk lacks. A failure of the directory
    /// fsync comes after the rename: the new file is in place, but the save is reported failed, so it is retried.
    /// </summary>
    /// <param name="unixMode">The new file's permissions on Unix (for example owner-only for password hashes); the umask default when null.</param>
    public static long Replace(string path, Action<Stream> write, UnixFileMode? unixMode = null) =>
        Replace(path, write, unixMode, SyncDirectory);

    /// <summary>
    /// For a state file written entry by entry with a <see cref="Utf8JsonWriter"/>: hands what the writer holds to the
    /// stream every 64 KB. Unflushed, the writer keeps the whole document in a buffer grown by doubling, on the
    /// large-object heap for a city's files (lighting's saves of 80,000 lamps allocated about 60 MB of it in the
    /// 100,000-device run). The bytes written are the same.
    /// </summary>
    public static void FlushWhenFull(Utf8JsonWriter writer)
    {
        if (writer.BytesPending > 1 << 16)
        {
            writer.Flush();
        }
    }

    /// <summary>For a state file written by hand: an instant as the serializer writes a <c>DateTimeOffset?</c> (its offset kept), or null.</summary>
    public static void WriteInstant(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            writer.WriteString(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>As <see cref="Replace(string, Action{Stream}, UnixFileMode?)"/>, with the directory fsync given (a test makes it fail).</summary>
    internal static long Replace(string path, Action<Stream> write, UnixFileMode? unixMode, Action<string> syncDirectory)
    {
        using var written = Write(path, write, unixMode);
        return written.Commit(syncDirectory);
    }

    /// <summary>
    /// The first half of <see cref="Replace(string, Action{Stream}, UnixFileMode?)"/>: <paramref name="write"/> fills the
    /// temporary file beside <paramref name="path"/>, handed to the operating system but not flushed to disk, and
    /// <paramref name="path"/> is untouched until <see cref="Written.Commit()"/>. So a caller can take its snapshot under
    /// its own lock and leave the slow part (two fsyncs, hundreds of milliseconds on a busy disk) to after it.
    /// One save of a path at a time: the caller serialises them (the temporary file's name is fixed).
    /// </summary>
    public static Written Write(string path, Action<Stream> write, UnixFileMode? unixMode = null)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = full + ".tmp";
        FileStream? stream = null;
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
            if (unixMode is { } mode && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = mode;
            }

            stream = new FileStream(temp, options);
            write(stream);
            stream.Flush();
            return new Written(stream, temp, full, directory);
        }
        catch
        {
            stream?.Dispose();
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>A state file written to its temporary file by <see cref="Write"/>: <see cref="Commit()"/> puts it in place; disposed uncommitted, it is deleted.</summary>
    public sealed class Written : IDisposable
    {
        private readonly string _temp;
        private readonly string _full;
        private readonly string _directory;
        private FileStream? _stream;

        internal Written(FileStream stream, string temp, string full, string directory)
        {
            _stream = stream;
            _temp = temp;
            _full = full;
            _directory = directory;
            Length = stream.Length;
        }

        /// <summary>Bytes written.</summary>
        public long Length { get; }

        /// <summary>Flushes the temporary file to disk, renames it over the old file and fsyncs the directory; throws what the disk throws.</summary>
        public long Commit() => Commit(SyncDirectory);

        internal long Commit(Action<string> syncDirectory)
        {
            var stream = _stream ?? throw new InvalidOperationException("committed or disposed already");
            _stream = null;
            try
            {
                using (stream)
                {
                    stream.Flush(flushToDisk: true);
                }

                File.Move(_temp, _full, overwrite: true);
            }
            catch
            {
                TryDelete(_temp);
                throw;
            }

            syncDirectory(_directory);
            return Length;
        }

        public void Dispose()
        {
            if (_stream is { } stream)
            {
                _stream = null;
                stream.Dispose();
                TryDelete(_temp);
            }
        }
    }

    /// <summary>
    /// Makes the entries of <paramref name="directory"/> (files created, renamed or deleted in it) durable:
    /// fsync of the directory itself, as POSIX asks. .NET has no API for it (a FileStream or
    /// File.OpenHandle refuses a directory), hence open/fsync/close from libc. On Windows a rename is
    /// journaled by NTFS and a directory cannot be opened this way: nothing to do.
    /// Throws <see cref="IOException"/> when the directory cannot be opened or synced; a file system that
    /// cannot sync directories at all (EINVAL) is not an error, as PostgreSQL's fsync_fname treats it.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var flags = OperatingSystem.IsLinux() ? LinuxOpenDirectoryFlags : 0;
        var fd = Libc.Open(directory, flags);
        if (fd < 0)
        {
            throw Failure("open", directory, Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Libc.Fsync(fd) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != EInval)
            {
                throw Failure("fsync", directory, errno);
            }
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    // O_RDONLY | O_DIRECTORY | O_CLOEXEC on Linux: a path that is not a directory fails (ENOTDIR) instead of syncing a file.
    private const int LinuxOpenDirectoryFlags = 0x10000 | 0x80000;
    private const int EInval = 22;

    private static IOException Failure(string call, string directory, int errno) =>
        new($"{call} of directory {directory} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            // Left for the next save to overwrite; the first error is the one to report.
        }
    }

    private static class Libc
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
