using SmartCity.OperatorConsole.Accounts;
using SmartCity.Worker;
using SmartCity.Worker.Configuration;

// Before anything opens a socket: the runtime reads this switch once (SocketCompletions).
SocketCompletions.PreferInline();

// "console add-user|list-users": the operator console's accounts (docs/console.md); anything else runs the worker.
return args is ["console", ..]
    ? await AccountCommand.RunAsync(args[1..], AppContext.BaseDirectory, Console.In, Console.Out, Console.Error).ConfigureAwait(false)
    : await WorkerHost.RunAsync(args).ConfigureAwait(false);
