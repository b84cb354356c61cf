namespace SmartCity.Bench.Load;

/// <summary>
/// A child stays alive after its RESULT until the benchmark closes its stdin (at most 2 minutes),
/// so the benchmark can read the child's CPU time from /proc at the end of the measured window.
/// </summary>
internal static class Lingering
{
    public static async Task WaitForReleaseAsync()
    {
        await Console.Out.FlushAsync();
        try
        {
            await Console.In.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
        }
    }
}
