using System.Text.Json;
using SmartCity.Telemetry.Lighting.Schedules;
using SmartCity.Worker.Talq;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27: the unit of a control program's astronomical offsets. The source is the data model,
/// talq-data-model-2-7-1-online.json#/components/schemas/AstroClockActivePeriod/allOf/1/properties/sunsetOffset
/// (and .../sunriseOffset): "Offset in minutes to apply to the calculated sunset time", type integer. Our schedules
/// hold TimeSpans (seconds allowed), so the program carries whole minutes, rounded to the nearest one.
/// </summary>
public sealed class TalqOffsetUnitTests
{
    [Theory]
    [InlineData("sunsetOffset")]
    [InlineData("sunriseOffset")]
    public void DataModel_AstroClockOffsets_AreIntegerMinutes(string property)
    {
        using var model = JsonDocument.Parse(File.ReadAllText(Path.Combine(TalqContract.Directory, TalqContract.DataModel)));
        var schema = model.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("AstroClockActivePeriod")
            .GetProperty("allOf")[1].GetProperty("properties").GetProperty(property);

        Assert.Equal("integer", schema.GetProperty("type").GetString());
        Assert.StartsWith("Offset in minutes", schema.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ControlPrograms_ScheduleOffsets_AreSentAsWholeMinutesRoundedToTheNearest()
    {
        var schedule = new LightingSchedule
        {
            Id = "offsets",
            District = "d27",
            OnOffset = new TimeSpan(0, -9, -45),  // 9.75 min before sunset: -10, not -9 (truncated)
            OffOffset = new TimeSpan(0, 10, 30),  // 10.5 min after sunrise: 11 (half away from zero)
        };

        var program = JsonSerializer.SerializeToElement(TalqGatewayRequests.ControlPrograms(schedule, Guid.NewGuid().ToString())[0]);
        var period = program.GetProperty("activePeriods")[0];

        Assert.Equal("AstroClockActivePeriod", period.GetProperty("name").GetString());
        Assert.Equal(-10, period.GetProperty("sunsetOffset").GetInt32());
        Assert.Equal(11, period.GetProperty("sunriseOffset").GetInt32());
        Assert.Empty(TalqContract.CheckModel("ControlProgramOne", program.GetRawText()));
    }
}
