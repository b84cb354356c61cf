using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Tests.Buffering;

public sealed class SpoolCursorFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "smartcity-cursor-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Open_OldTextCursor_ReadAndMigratedToFixedSize()
    {
        File.WriteAllText(_path, "7 12345");
        using (var cursor = SpoolCursorFile.Open(_path, out var position))
        {
            Assert.Equal(new SpoolPosition(7, 12345), position);
        }

        Assert.Equal(24, new FileInfo(_path).Length);
        using var again = SpoolCursorFile.Open(_path, out var migrated);
        Assert.Equal(new SpoolPosition(7, 12345), migrated);
    }

    [Fact]
    public void Write_RewritesInPlace_SameSizeAndReadBack()
    {
        using (var cursor = SpoolCursorFile.Open(_path, out var none))
        {
            Assert.Null(none);
            cursor.Write(new SpoolPosition(3, 99));
            cursor.Write(new SpoolPosition(4, 1));
        }

        Assert.Equal(24, new FileInfo(_path).Length);
        Assert.Equal(new SpoolPosition(4, 1), SpoolCursorFile.Read(File.ReadAllBytes(_path)));
    }

    [Fact]
    public void Read_TornCursor_IsNull()
    {
        using (var cursor = SpoolCursorFile.Open(_path, out _))
        {
            cursor.Write(new SpoolPosition(5, 500));
        }

        var bytes = File.ReadAllBytes(_path);
        bytes[10] ^= 0xFF;
        Assert.Null(SpoolCursorFile.Read(bytes));
    }
}
