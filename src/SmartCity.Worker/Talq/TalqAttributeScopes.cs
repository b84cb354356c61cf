namespace SmartCity.Worker.Talq;

/// <summary>
/// The scope (configuration, measurement, operational, event) of each attribute of the functions a street-light
/// network announces, as the TALQ 2.7.1 data model gives it (<c>x-talq-scope</c>): GET
/// /devices/{address}/{function}?attributeScope= answers only the attributes of that scope. Taken from the data
/// model file (which the product does not read at run time); a contract test checks it against that file.
/// </summary>
public static class TalqAttributeScopes
{
    public static readonly IReadOnlyList<string> Scopes = ["configuration", "measurement", "operational", "event"];

    private static readonly Dictionary<string, Dictionary<string, string>> ByFunction = new(StringComparer.Ordinal)
    {
        ["LampActuatorFunction"] = Table(
            ("configuration",
                "lampTypeId outputPort standbyMode cloEnabled defaultLightState maintenanceFactorEnabled " +
                "maintenancePeriod maintenanceFactor applicationType"),
            ("event",
                "invalidCalendar invalidProgram lightStateChange targetLightCommandChange programChange " +
                "calendarChange invalidLampType"),
            ("measurement",
                "feedbackLightCommand actualLightState"),
            ("operational",
                "targetLightCommand lastMaintenanceDate calendarID")),
        ["LampMonitorFunction"] = Table(
            ("configuration",
                "supplyType lampTypeId monitoringReference actuatorReference numberOfLamps highSupplyVoltageThreshold " +
                "lowSupplyVoltageThreshold applicationType"),
            ("event",
                "lampPowerTooHigh lampPowerTooLow lampVoltageTooHigh lampVoltageTooLow lampFailure dimmingFailure " +
                "currentTooHigh currentTooLow powerFactorTooLow highTemperature relayFailure absolutLampPowerTooHigh " +
                "absolutLampPowerTooLow absoluteLampPowerTooHigh absoluteLampPowerTooLow controlGearCommFailure " +
                "cyclingFailure supplyLoss contactorError lampUnexpectedOn leakageDetected invalidLampType " +
                "supplyVoltageTooHigh supplyVoltageTooLow"),
            ("measurement",
                "switchOnCounter operatingHours temperature supplyVoltage supplyCurrent activePower reactivePower " +
                "apparentPower powerFactor powerFactorSense activeEnergy supplyLossCount")),
        ["ElectricalMeterFunction"] = Table(
            ("configuration",
                "totalPowerHighThreshold totalPowerLowThreshold powerfactorThreshold phase1PowerfactorLowThreshold " +
                "phase2PowerfactorLowThreshold phase3PowerfactorLowThreshold supplyVoltageHighThreshold " +
                "supplyVoltageLowThreshold phase1VoltageHighThreshold phase1VoltageLowThreshold " +
                "phase2VoltageHighThreshold phase2VoltageLowThreshold phase3VoltageHighThreshold " +
                "phase3VoltageLowThreshold totalCurrentHighThreshold totalCurrentLowThreshold " +
                "neutralCurrentHighThreshold phase1CurrentHighThreshold phase1CurrentLowThreshold " +
                "phase2CurrentHighThreshold phase2CurrentLowThreshold phase3CurrentHighThreshold " +
                "phase3CurrentLowThreshold phase1ActivePowerHighThreshold phase1ActivePowerLowThreshold " +
                "phase2ActivePowerHighThreshold phase2ActivePowerLowThreshold phase3ActivePowerHighThreshold " +
                "phase3ActivePowerLowThreshold applicationType actuatorReference"),
            ("event",
                "totalPowerTooHigh totalPowerTooLow powerfactorTooLow phase1PowerfactorTooLow phase2PowerfactorTooLow " +
                "phase3PowerfactorTooLow supplyVoltageTooHigh supplyVoltageTooLow phase1VoltageTooHigh " +
                "phase1VoltageTooLow phase2VoltageTooHigh phase2VoltageTooLow phase3VoltageTooHigh " +
                "phase3VoltageTooLow totalCurrentTooHigh totalCurrentTooLow neutralCurrentTooHigh " +
                "phase1CurrentTooHigh phase1CurrentTooLow phase2CurrentTooHigh phase2CurrentTooLow " +
                "phase3CurrentTooHigh phase3CurrentTooLow phase1ActivePowerTooHigh phase1ActivePowerTooLow " +
                "phase2ActivePowerTooHigh phase2ActivePowerTooLow phase3ActivePowerTooHigh phase3ActivePowerTooLow " +
                "supplyLoss"),
            ("measurement",
                "totalPower totalVA totalVAR maxDemandPower totalActiveEnergy totalReactiveEnergy totalApparentEnergy " +
                "frequency totalPowerFactor totalPowerFactorSense phase1PowerFactor phase1PowerFactorSense " +
                "phase2PowerFactor phase2PowerFactorSense phase3PowerFactor phase3PowerFactorSense supplyVoltage " +
                "phase1Voltage phase2Voltage phase3Voltage voltagePhase1Phase2 voltagePhase2Phase3 " +
                "voltagePhase3Phase1 totalCurrent averageCurrent neutralCurrent phase1Current phase2Current " +
                "phase3Current phase1ActivePower phase2ActivePower phase3ActivePower phase1ApparentPower " +
                "phase2ApparentPower phase3ApparentPower phase1ReactivePower phase2ReactivePower phase3ReactivePower " +
                "phase1ActiveEnergy phase2ActiveEnergy phase3ActiveEnergy worstCurrentTHD phase1CurrentTHD " +
                "phase2CurrentTHD phase3CurrentTHD worstVoltageTHD averageVoltageTHD phase1VoltageTHD " +
                "phase2VoltageTHD phase3VoltageTHD phase1_2VoltageTHD phase2_3VoltageTHD phase3_1VoltageTHD " +
                "supplyLossCount phase1SupplyLossCount phase2SupplyLossCount phase3SupplyLossCount")),
        ["PhotocellFunction"] = Table(
            ("configuration",
                "onLevel offLevel applicationType"),
            ("event",
                "photocellOutputOn"),
            ("measurement",
                "photocellOutput")),
        ["LightSensorFunction"] = Table(
            ("configuration",
                "levelHighThreshold levelLowThreshold applicationType"),
            ("event",
                "levelTooHigh levelTooLow"),
            ("measurement",
                "lightLevel")),
    };

    /// <summary>The function types whose attributes' scopes are known.</summary>
    public static IEnumerable<string> FunctionTypes => ByFunction.Keys;

    /// <summary>The attribute's scope in a function of type <paramref name="functionType"/>; null when the data model gives none we know.</summary>
    public static string? Of(string functionType, string attribute) =>
        ByFunction.TryGetValue(functionType, out var scopes) && scopes.TryGetValue(attribute, out var scope) ? scope : null;

    private static Dictionary<string, string> Table(params (string Scope, string Names)[] scopes) =>
        scopes.SelectMany(s => s.Names.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(n => (n, s.Scope)))
            .ToDictionary(p => p.n, p => p.Scope, StringComparer.Ordinal);
}
