using SmartCity.Provisioning;

// smartcity-provision: device credentials and ACL entries in mosquitto's files (docs/security.md).
return await ProvisionCommand.RunAsync(args, Console.Out, Console.Error);
