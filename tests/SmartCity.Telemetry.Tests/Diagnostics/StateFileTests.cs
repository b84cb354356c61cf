using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Diagnostics;

public sealed class StateFileTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "statefile-tests-" + Guid.NewGuid().ToString("N"));

    private string File => Path.Combine(_directory, "state.json");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static Action<Stream> Bytes(string text) => s => s.Write(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Replace_ExistingFile_NewContentInPlaceNoTemporaryLeftAndDirectorySyncedAfterTheRename()
    {
        StateFile.Replace(File, Bytes("old"));
        string? contentAtSync = null;
        string? syncedDirectory = null;

        var written = StateFile.Replace(File, Bytes("new!"), null, directory =>
        {
            syncedDirectory = directory;
            contentAtSync = System.IO.File.ReadAllText(File);
        });

        Assert.Equal(4, written);
        Assert.Equal("new!", System.IO.File.ReadAllText(File));
        Assert.Equal(_directory, syncedDirectory);
        Assert.Equal("new!", contentAtSync);   // the sync comes after the rename, or it would not make the rename durable
        Assert.False(System.IO.File.Exists(File + ".tmp"));
    }

    [Fact]
    public void Replace_WriterThrows_OldFileKeptTemporaryDeletedAndNoSync()
    {
        StateFile.Replace(File, Bytes("old"));
        var synced = false;

        Assert.Throws<IOException>(() => StateFile.Replace(File, s =>
        {
            s.Write("half"u8);
            s.Flush();
            throw new IOException("No space left on device");
        }, null, _ => synced = true));

        Assert.Equal("old", System.IO.File.ReadAllText(File));
        Assert.False(System.IO.File.Exists(File + ".tmp"));
        Assert.False(synced);
    }

    [Fact]
    public void Replace_DirectorySyncFails_ThrowsSoTheCallerCountsAndRetries()
    {
        var error = Assert.Throws<IOException>(() => StateFile.Replace(File, Bytes("new"), null, _ => throw new IOException("Input/output error")));

        Assert.Equal("Input/output error", error.Message);
        Assert.Equal("new", System.IO.File.ReadAllText(File));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Replace_UnixMode_NewFileHasIt()
    {
        StateFile.Replace(File, Bytes("secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(File));
    }

    [Fact]
    public void SyncDirectory_ExistingDirectory_Succeeds()
    {
        Directory.CreateDirectory(_directory);

        StateFile.SyncDirectory(_directory);
    }

    [Fact]
    public void SyncDirectory_MissingDirectory_ThrowsIOExceptionNotSilent()
    {
        var error = Assert.Throws<IOException>(() => StateFile.SyncDirectory(Path.Combine(_directory, "missing")));

        Assert.Contains("open of directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SyncDirectory_PathIsAFile_ThrowsIOExceptionInsteadOfSyncingTheFile()
    {
        StateFile.Replace(File, Bytes("x"));

        var error = Assert.Throws<IOException>(() => StateFile.SyncDirectory(File));

        Assert.Equal(20, error.HResult);   // ENOTDIR
    }
}
