using SmartCity.Worker;

return await WorkerHost.RunAsync(args).ConfigureAwait(false);
