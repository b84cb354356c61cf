using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Lighting.Schedules;
using SmartCity.Worker.Talq;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27, the TALQ gateway client against a stand-in from the official gateway OpenAPI file (Prism,
/// validating): our control programs, calendars, override commands and logger configuration are accepted,
/// and a request the schemas refuse is refused (so acceptance means something).
/// </summary>
public sealed class TalqGatewayClientTests
{
    private static readonly LightingSchedule Schedule = new()
    {
        Id = "harbour-night",
        District = "d27",
        OnOffset = TimeSpan.FromMinutes(-15),
        OffOffset = TimeSpan.FromMinutes(10),
        OnLevel = 100,
        Steps = [new DimStep(new TimeOnly(23, 0), 50), new DimStep(new TimeOnly(1, 0), 30)],
        Exceptions = [new ExceptionDate { Date = new DateOnly(2026, 12, 31), Name = "new year", Steps = [new DimStep(new TimeOnly(2, 0), 60)] }],
    };

    private static LampCommand Command(bool on, double dim) => new()
    {
        CommandId = "c-" + Guid.NewGuid().ToString("N"), DeviceId = Guid.NewGuid().ToString("D"), Sector = "lighting", District = "d27", Site = "harbour",
        DeviceType = "streetlight", Profile = "streetlight", On = on, DimPct = dim, By = "olga.operator", Reason = "test", SentAt = DateTimeOffset.UtcNow, DueBy = DateTimeOffset.UtcNow.AddMinutes(1),
    };

    [Fact]
    public async Task GatewayClient_SchedulesCommandsAndLogger_AreAcceptedByTheValidatingMock_AndABadRequestIsNot()
    {
        await using var mock = await PrismGatewayMock.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var client = new TalqGatewayClient(http, new TalqGatewayEndpoint(mock.BaseUrl, "smartcity", "secret", Guid.NewGuid()));

        var schedule = await client.SendScheduleAsync(Schedule, CancellationToken.None);
        Assert.All(schedule, r => Assert.True(r.Accepted, $"{r.Status}: {r.Body}"));
        foreach (var command in new[] { Command(true, 40), Command(false, 0) })
        {
            var sent = await client.SendOverrideAsync(TalqGatewayRequests.Override(command, Guid.Parse(command.DeviceId)), CancellationToken.None);
            Assert.True(sent.Accepted, $"{sent.Status}: {sent.Body}");
        }

        var logger = await client.ConfigureLoggerAsync(TalqGatewayRequests.LoggerConfig("smartcity-lamps", client.OwnerCms, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.True(logger.Accepted, $"{logger.Status}: {logger.Body}");

        // A calendar without its ownerCMS, an override whose address lacks its resource: the mock refuses both.
        // (It does not follow discriminators, so a LevelState of 140 would pass it: our levels are clamped to 0..100.)
        var noOwner = await client.SendAsync(HttpMethod.Post, "/calendars", new[] { new { id = "x" } }, CancellationToken.None);
        Assert.Equal(422, noOwner.Status);
        var noResource = await client.SendAsync(HttpMethod.Post, "/override-commands", new { addresses = new[] { new { address = Guid.NewGuid() } } }, CancellationToken.None);
        Assert.Equal(422, noResource.Status);
    }
}
