namespace SmartCity.OpenData.Datasets;

/// <summary>The published datasets: ids (file names), titles and columns in both languages.</summary>
public static class DatasetDefinitions
{
    public static readonly DatasetDefinition LightingOutages = new(
        "lighting-outages",
        "Street-lighting outages per district",
        "Pannes de l'éclairage public par quartier",
        "Outages of street lights (failed lamp or driver, dark at night, mains loss, controller offline) raised in the last days, per district: still open, repaired, and the mean time to repair.",
        "Pannes de l'éclairage public (lampe ou driver en panne, éteint la nuit, perte secteur, contrôleur hors ligne) signalées ces derniers jours, par quartier : en cours, réparées, et durée moyenne de réparation.",
        [
            new("district", "string", "District", "Quartier", "The district's code."),
            new("lamps", "integer", "Lamps", "Lampadaires", "Street lights in the district."),
            new("outages_open", "integer", "Open outages", "Pannes en cours", "Outages not repaired yet."),
            new("outages_repaired", "integer", "Repaired outages", "Pannes réparées", "Outages repaired within the period."),
            new("mean_hours_to_repair", "number", "Mean time to repair (h)", "Durée moyenne de réparation (h)", "Mean hours from the failure to the repair, over repaired outages; empty when none.", "h"),
        ],
        ["district"]);

    public static readonly DatasetDefinition LightingEnergy = new(
        "lighting-energy",
        "Street-lighting energy per district and month",
        "Consommation de l'éclairage public par quartier et par mois",
        "Energy used by the street lights of each district per calendar month (UTC), from the lamps' energy meters.",
        "Énergie consommée par les lampadaires de chaque quartier par mois calendaire (UTC), d'après les compteurs des lampadaires.",
        [
            new("district", "string", "District", "Quartier", "The district's code."),
            new("month", "string", "Month", "Mois", "Calendar month, YYYY-MM (UTC)."),
            new("lamps_reporting", "integer", "Lamps reporting", "Lampadaires mesurés", "Lamps whose meter reported during the month."),
            new("energy_kwh", "number", "Energy (kWh)", "Énergie (kWh)", "Sum over the lamps of their meter's increase during the month.", "kWh"),
        ],
        ["district", "month"]);

    public static readonly DatasetDefinition SchoolAir = new(
        "school-air",
        "School indoor air: CO2 per school and week",
        "Qualité de l'air dans les écoles : CO2 par école et par semaine",
        "Hours of each ISO week (UTC) during which at least one classroom of the school had an hourly mean CO2 above 1,000 ppm and above 1,500 ppm. No per-classroom figure is published.",
        "Heures de chaque semaine ISO (UTC) pendant lesquelles au moins une salle de l'école avait une moyenne horaire de CO2 au-dessus de 1 000 ppm et de 1 500 ppm. Aucun chiffre par salle n'est publié.",
        [
            new("district", "string", "District", "Quartier", "The district's code."),
            new("school", "string", "School", "École", "The school's site code."),
            new("week", "string", "Week", "Semaine", "ISO week, YYYY-Www."),
            new("week_start", "date", "Week start", "Début de semaine", "The week's Monday (UTC)."),
            new("sensors", "integer", "Sensors", "Capteurs", "Classroom sensors that reported during the week."),
            new("hours_measured", "integer", "Hours measured", "Heures mesurées", "Hours with at least one reading."),
            new("hours_above_1000_ppm", "integer", "Hours above 1,000 ppm", "Heures au-dessus de 1 000 ppm", "Hours when a classroom's hourly mean CO2 was above 1,000 ppm.", "h"),
            new("hours_above_1500_ppm", "integer", "Hours above 1,500 ppm", "Heures au-dessus de 1 500 ppm", "Hours when a classroom's hourly mean CO2 was above 1,500 ppm.", "h"),
        ],
        ["school", "week"]);

    public static readonly DatasetDefinition ServiceStatus = new(
        "service-status",
        "Service status: devices online per sector",
        "État des services : équipements en ligne par secteur",
        "Share of the city's connected devices that are online, per sector, at the time of the update.",
        "Part des équipements connectés de la ville qui sont en ligne, par secteur, au moment de la mise à jour.",
        [
            new("sector", "string", "Sector", "Secteur", "lighting (street lights) or education (schools)."),
            new("devices", "integer", "Devices", "Équipements", "Devices known in the sector."),
            new("online", "integer", "Online", "En ligne", "Devices online."),
            new("share_online_pct", "number", "Online (%)", "En ligne (%)", "Online devices over devices, in percent.", "%"),
        ],
        ["sector"]);

    public static readonly IReadOnlyList<DatasetDefinition> All = [LightingOutages, LightingEnergy, SchoolAir, ServiceStatus];
}
