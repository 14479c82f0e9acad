using Fleet.Daemon;

// Before anything else runs: it may execute fleetd again with its GC budget set.
GcBudget.Apply();
return await DaemonCommand.RunAsync(args);
