using SmartCity.Telemetry.Lighting;

namespace SmartCity.Telemetry.Tests.Lighting;

/// <summary>
/// Lighting's save with the 100,000-device city's 80,000 lamps: written to the file as it goes, not built in memory
/// first. Unflushed, the writer held the whole of <c>parents</c> and <c>births</c> in a buffer grown by doubling, so
/// each save allocated tens of megabytes on the large-object heap: the biggest share of the worker's large-object
/// heap at the 100,000-device peak (docs/performance.md, branch wt-dev100k).
/// </summary>
public sealed class LightingStateSaveMemoryTests : IDisposable
{
    private const int Lamps = 80_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-lampsave-" + Guid.NewGuid().ToString("N"));

    public LightingStateSaveMemoryTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Save_80000Lamps_WritesTheSerializersBytesAllocatingUnderAMegabyte()
    {
        var state = new LightingState();
        var birth = new DateTimeOffset(2026, 12, 7, 16, 0, 0, TimeSpan.FromHours(1));
        for (var i = 0; i < Lamps; i++)
        {
            var id = $"lamp-{i:D6}";
            state.Parents[id] = $"cabinet-{i / 50:D4}";
            state.Births[id] = birth.AddSeconds(i);
        }

        // The reference: the whole state written by the serializer, parents and births from its dictionaries.
        var reference = new LightingStateFile(Path.Combine(_dir, "reference.json"));
        reference.Save(state);
        var lamps = new LampTable();
        lamps.Take(state);
        var file = new LightingStateFile(Path.Combine(_dir, "lighting.json"));
        file.Save(state, lamps); // the first save's one-time work (JIT, the serializer's metadata) not counted

        var before = GC.GetAllocatedBytesForCurrentThread();
        file.Save(state, lamps);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(File.ReadAllBytes(reference.Path), File.ReadAllBytes(file.Path));
        Assert.True(new FileInfo(file.Path).Length > 5_000_000, $"{new FileInfo(file.Path).Length} bytes written");
        Assert.True(allocated < 1_000_000, $"a save of {Lamps:N0} lamps allocated {allocated:N0} bytes");
    }
}
