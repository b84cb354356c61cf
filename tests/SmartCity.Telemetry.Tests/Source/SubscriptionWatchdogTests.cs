using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

public class SubscriptionWatchdogTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void IsQuiet_TrafficThenSilenceLongerThanTimeout_FiresOnce()
    {
        var watchdog = new SubscriptionWatchdog(_time, TimeSpan.FromMinutes(2));
        watchdog.MessageReceived();

        _time.Advance(TimeSpan.FromSeconds(119));
        Assert.False(watchdog.IsQuiet(out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(watchdog.IsQuiet(out var quietFor));
        Assert.Equal(TimeSpan.FromMinutes(2), quietFor);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(watchdog.IsQuiet(out _));
    }

    [Fact]
    public void IsQuiet_MessagesHeldUnacknowledgedLongerThanTimeout_DoesNotFireUntilTheyAreGoneAndSilenceLasts()
    {
        long held = 2_000;
        var watchdog = new SubscriptionWatchdog(_time, TimeSpan.FromSeconds(10), () => held);
        watchdog.MessageReceived();

        // The worker paused reading at its backlog bound (a slow fsync): no new message for a minute, none lost.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(watchdog.IsQuiet(out _));

        held = 0;
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(watchdog.IsQuiet(out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(watchdog.IsQuiet(out var quietFor));
        Assert.Equal(TimeSpan.FromSeconds(10), quietFor);
    }

    [Fact]
    public void IsQuiet_NoTrafficEver_NeverFires()
    {
        var watchdog = new SubscriptionWatchdog(_time, TimeSpan.FromMinutes(2));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.False(watchdog.IsQuiet(out _));
    }

    [Fact]
    public void IsQuiet_TrafficResumesAfterTrigger_CanFireAgain()
    {
        var watchdog = new SubscriptionWatchdog(_time, TimeSpan.FromSeconds(10));
        watchdog.MessageReceived();
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(watchdog.IsQuiet(out _));

        watchdog.MessageReceived();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(watchdog.IsQuiet(out _));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(watchdog.IsQuiet(out _));
    }

    [Fact]
    public void IsQuiet_Disabled_NeverFires()
    {
        var watchdog = new SubscriptionWatchdog(_time, TimeSpan.Zero);
        watchdog.MessageReceived();
        _time.Advance(TimeSpan.FromDays(1));
        Assert.False(watchdog.IsQuiet(out _));
    }
}
