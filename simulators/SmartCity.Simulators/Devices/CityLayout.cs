using System.Globalization;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Devices;

/// <summary>
/// Where every device of a scenario is: district, site, position, and which cabinet, school or
/// building it belongs to. Everything is a formula of (type, index), so a city of 100,000 devices
/// costs no memory per device here.
/// </summary>
public sealed class CityLayout
{
    private readonly Scenario _scenario;
    private readonly int[] _keyOffset;

    public CityLayout(Scenario scenario)
    {
        _scenario = scenario;
        _keyOffset = new int[DeviceTypes.All.Count + 1];
        for (var t = 0; t < DeviceTypes.All.Count; t++)
        {
            _keyOffset[t + 1] = _keyOffset[t] + scenario.Count(DeviceTypes.All[t]);
        }
    }

    public int Districts => _scenario.Districts.Count;

    public int TotalDevices => _keyOffset[^1];

    /// <summary>A dense number for every device of the city (0..TotalDevices-1): gateway routing and fault lookups.</summary>
    public int Key(DeviceType type, int index) => _keyOffset[(int)type] + index;

    public (DeviceType Type, int Index) FromKey(int key)
    {
        var t = 0;
        while (key >= _keyOffset[t + 1])
        {
            t++;
        }

        return (DeviceTypes.All[t], key - _keyOffset[t]);
    }

    public string DistrictOf(DeviceType type, int index) => _scenario.Districts[DistrictIndex(type, index)];

    private int DistrictIndex(DeviceType type, int index) => type switch
    {
        DeviceType.ClassroomEnv => SchoolOf(index) % Districts,
        DeviceType.DoorContact or DeviceType.MotionDetector or DeviceType.Camera or DeviceType.AlarmPanel or DeviceType.PanicButton => BuildingOf(type, index) % Districts,
        // Lamps and cabinets round-robin over districts, as the first simulator did.
        _ => index % Districts,
    };

    public string SiteOf(DeviceType type, int index)
    {
        var district = DistrictOf(type, index);
        var inv = CultureInfo.InvariantCulture;
        return type switch
        {
            // About 25 lamps per street within a district.
            DeviceType.StreetLight => string.Create(inv, $"{district}-street-{(index / Districts / 25) + 1:000}"),
            DeviceType.LightingCabinet => string.Create(inv, $"{district}-cabinet-{(index / Districts) + 1:000}"),
            DeviceType.ClassroomEnv => string.Create(inv, $"{district}-school-{(SchoolOf(index) / Districts) + 1:00}"),
            _ => string.Create(inv, $"{district}-bldg-{(BuildingOf(type, index) / Districts) + 1:00}"),
        };
    }

    public int SchoolOf(int classroom) => classroom / _scenario.Schools.ClassroomsPerSchool;

    /// <summary>Security devices of each type are spread round-robin over the buildings; building b has panel b.</summary>
    public int BuildingOf(DeviceType type, int index) => index % _scenario.Security.Buildings;

    /// <summary>The cabinet that feeds a lamp: lamps and cabinets of the same district, in order; -1 when the district has no cabinet.</summary>
    public int CabinetOf(int lamp)
    {
        var d = lamp % Districts;
        var lampsInDistrict = CountInDistrict(_scenario.Count(DeviceType.StreetLight), d);
        var cabinetsInDistrict = CountInDistrict(_scenario.Count(DeviceType.LightingCabinet), d);
        if (cabinetsInDistrict == 0)
        {
            return -1;
        }

        var rank = (int)((long)(lamp / Districts) * cabinetsInDistrict / lampsInDistrict);
        return (rank * Districts) + d;
    }

    /// <summary>The lamps a cabinet feeds, by index.</summary>
    public IEnumerable<int> LampsOf(int cabinet)
    {
        var d = cabinet % Districts;
        var lamps = _scenario.Count(DeviceType.StreetLight);
        for (var lamp = d; lamp < lamps; lamp += Districts)
        {
            if (CabinetOf(lamp) == cabinet)
            {
                yield return lamp;
            }
        }
    }

    private int CountInDistrict(int total, int district) => total <= district ? 0 : ((total - district - 1) / Districts) + 1;

    /// <summary>A position in the city: districts around the centre, devices scattered within ~1 km of their district.</summary>
    public (double Latitude, double Longitude) PositionOf(DeviceType type, int index, int seed)
    {
        var d = DistrictIndex(type, index);
        var angle = 2 * Math.PI * d / Districts;
        var districtLat = _scenario.Latitude + (Districts > 1 ? 0.02 * Math.Sin(angle) : 0);
        var districtLon = _scenario.Longitude + (Districts > 1 ? 0.03 * Math.Cos(angle) : 0);
        var r = new DeterministicRandom(seed, (long)type, index, 0x9051);
        return (Math.Round(districtLat + ((r.NextDouble() - 0.5) * 0.02), 6), Math.Round(districtLon + ((r.NextDouble() - 0.5) * 0.03), 6));
    }

    public string Topic(DeviceType type, int index, string kind) =>
        string.Create(CultureInfo.InvariantCulture, $"{_scenario.TopicRoot}/{type.Sector()}/{DistrictOf(type, index)}/{SiteOf(type, index)}/{type.Name()}/{type.DeviceId(index)}/{kind}");
}
