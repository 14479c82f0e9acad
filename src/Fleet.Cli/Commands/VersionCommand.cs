using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Fleet.Cli.Commands;

/// <summary>VersionCommand is <c>fleetctl version</c>: the client's version and platform.</summary>
public static class VersionCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("version", "Print fleetctl's version, the .NET runtime and the platform.");
        command.SetAction(_ =>
        {
            stdout.WriteLine(Describe());
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Describe is the one-line version text, e.g. "fleetctl 0.1.0 (.NET 10.0.0, linux-x64)".</summary>
    public static string Describe()
    {
        var assembly = typeof(VersionCommand).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString()
                      ?? "unknown";
        return $"fleetctl {version} (.NET {Environment.Version}, {RuntimeInformation.RuntimeIdentifier})";
    }
}
