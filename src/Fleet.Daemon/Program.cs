using Fleet.Daemon;

// Before anything else runs: it may execute fleetd again with its memory settings.
MemorySettings.Apply();
return await DaemonCommand.RunAsync(args);
