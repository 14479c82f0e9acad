using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>RmiCommand is <c>fleetctl rmi REF</c>: untag an image in the node's store (refused while a declared service uses it).</summary>
public static class RmiCommand
{
    public static readonly Argument<string> Reference = new("REF") { Description = "The image to remove (app:v1)." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("rmi", "Remove an image from the node's store (its content is collected once nothing uses it).");
        command.Arguments.Add(Reference);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(parsed.GetValue(Reference)!, ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(string reference, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var removed = await client.RemoveImageAsync(new RemoveImageRequest { Reference = reference }, options);
            await stdout.WriteLineAsync($"untagged {removed.Reference} ({removed.Digest})");
            return ExitCodes.Ok;
        });
}
