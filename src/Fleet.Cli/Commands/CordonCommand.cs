using System.CommandLine;
using Fleet.Api.V1;
using Fleet.Core.Ids;

namespace Fleet.Cli.Commands;

/// <summary>
/// CordonCommand is <c>fleetctl cordon NODE</c> and <c>fleetctl uncordon NODE</c>: keep new
/// replicas off a node (those on it stay), or let them back (which also ends a drain). The
/// declaration is journaled by the controller, so it outlives a controller restart.
/// </summary>
public static class CordonCommand
{
    public static readonly Argument<string> Node = NodeArgument("The node to cordon.");

    public static readonly Argument<string> UncordonNode = NodeArgument("The node to uncordon.");

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static readonly Option<string?> UncordonServer = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("cordon", "Keep new replicas off a node; the replicas on it stay.");
        command.Arguments.Add(Node);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => ServerConnection.Call(ServerConnection.Resolve(parsed.GetValue(Server)), stderr, async (client, options) =>
        {
            var response = await client.CordonAsync(new CordonRequest { Node = parsed.GetValue(Node)! }, options);
            return await Report(stdout, response);
        }));
        return command;
    }

    public static Command CreateUncordon(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("uncordon", "Let a node take new replicas again; ends a drain.");
        command.Arguments.Add(UncordonNode);
        command.Options.Add(UncordonServer);
        command.SetAction((parsed, _) => ServerConnection.Call(ServerConnection.Resolve(parsed.GetValue(UncordonServer)), stderr, async (client, options) =>
        {
            var response = await client.UncordonAsync(new UncordonRequest { Node = parsed.GetValue(UncordonNode)! }, options);
            return await Report(stdout, response);
        }));
        return command;
    }

    /// <summary>NodeArgument is a NODE argument checked locally: a bad name is a usage error (exit 2) before any call.</summary>
    internal static Argument<string> NodeArgument(string description)
    {
        var argument = new Argument<string>("NODE") { Description = description };
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && !NodeName.TryParse(result.Tokens[0].Value, out _, out var error))
            {
                result.AddError(error);
            }
        });
        return argument;
    }

    internal static async Task<int> Report(TextWriter stdout, NodeCommandResponse response)
    {
        await stdout.WriteLineAsync(response.Message);
        return ExitCodes.Ok;
    }
}
