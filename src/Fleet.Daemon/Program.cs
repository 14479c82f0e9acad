using Fleet.Daemon;

return await DaemonCommand.RunAsync(args);
