using Fleet.Cli;

return FleetCli.Run(args, Console.Out, Console.Error, Console.OpenStandardInput);
