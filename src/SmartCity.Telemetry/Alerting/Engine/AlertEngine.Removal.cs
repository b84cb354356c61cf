
namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    /// <summary>
    /// The device's retained birth was cleared (a zero-length retained publish on its status topic):
    /// it was decommissioned. Its open alerts resolve and the engine forgets it, so its silence never
    /// raises <c>device_offline</c> (docs/device-contract.md, "Removing a device").
    /// </summary>
    public IReadOnlyList<AlertTransition> DeviceRemoved(string deviceId)
    {
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            if (!_devices.Remove(deviceId, out var device))
            {
                return output;
            }

            var now = _time.GetUtcNow();
            foreach (var rule in RulesOf(device))
            {
                if (!_rules.Remove((deviceId, rule.Rule), out var rs))
                {
                    continue;
                }

                if (OpenAlert(rs) is { } open)
                {
                    Resolve(open, rs, now, null, "the device was decommissioned (its retained birth was cleared)", null, output);
                }
            }

            _devicesDirty = true;
            SaveIf(true, allDevices: true);
        }

        return output;
    }
}
