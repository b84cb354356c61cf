namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// How a command reaches a lamp. MQTT (<see cref="MqttCommandChannel"/>, the contract's <c>cmd</c>
/// topic) is one transport; a gateway protocol (TALQ) is another behind the same seam, so the
/// planner, the schedules and the confirmation logic do not know which carries the command.
/// </summary>
public interface ICommandChannel
{
    /// <summary>Hands <paramref name="command"/> to the transport; throws when it could not.</summary>
    Task SendAsync(LampCommand command, CancellationToken cancellationToken);

    /// <summary>
    /// True when the lamp's own network runs its schedule (a TALQ gateway's calendar): the worker then
    /// sends it no schedule steps, which would fight the calendar and flood the gateway, only operator commands.
    /// </summary>
    bool SchedulesItself(string deviceId) => false;

    /// <summary>
    /// How long the lamp may take to report its level after a change, beyond <c>Lighting:ConfirmTimeout</c>: a lamp that
    /// reports on a fixed period (a TALQ gateway's logger) is not "not following" before its next report is due.
    /// </summary>
    TimeSpan ReportPeriod(string deviceId) => TimeSpan.Zero;
}
