using SmartCity.Backup;

// smartcity-backup: back up a running worker's state and restore it to a stopped worker's state folder (docs/operations.md).
return await BackupCommand.RunAsync(args, Console.Out, Console.Error);
