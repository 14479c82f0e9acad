using System.CommandLine;
using Fleet.Api.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// PushCommand is <c>fleetctl push REF</c> and PullCommand <c>fleetctl pull REF</c>: fleetd
/// moves the image between its store and the registry named in REF (plain HTTP only for a
/// loopback registry, e.g. 127.0.0.1:4051/app:v1 — fleetd's own). Progress is streamed.
/// </summary>
public static class TransferCommands
{
    public static readonly Argument<string> PushReference = new("REF") { Description = "The image to push, named for its registry (127.0.0.1:4051/app:v1)." };

    public static readonly Argument<string> PullReference = new("REF") { Description = "The image to pull (busybox:1.36, 127.0.0.1:4051/app:v1)." };

    public static readonly Option<string?> PushServer = ServerConnection.ServerOption();

    public static readonly Option<string?> PullServer = ServerConnection.ServerOption();

    public static Command CreatePush(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("push", "Push an image from the node's store to its registry.");
        command.Arguments.Add(PushReference);
        command.Options.Add(PushServer);
        command.SetAction((parsed, cancellationToken) => Execute("push", parsed.GetValue(PushReference)!, ServerConnection.Resolve(parsed.GetValue(PushServer)), stdout, stderr, cancellationToken));
        return command;
    }

    public static Command CreatePull(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("pull", "Pull an image from its registry into the node's store.");
        command.Arguments.Add(PullReference);
        command.Options.Add(PullServer);
        command.SetAction((parsed, cancellationToken) => Execute("pull", parsed.GetValue(PullReference)!, ServerConnection.Resolve(parsed.GetValue(PullServer)), stdout, stderr, cancellationToken));
        return command;
    }

    public static Task<int> Execute(string verb, string reference, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
        {
            using var call = verb == "push"
                ? client.Push(new PushRequest { Reference = reference }, options)
                : client.Pull(new PullRequest { Reference = reference }, options);
            var view = new TransferView(stdout, TransferView.IsTerminal(stdout), $"{verb}ing {reference}");
            var result = "";
            try
            {
                await foreach (var progress in call.ResponseStream.ReadAllAsync(options.CancellationToken))
                {
                    if (!string.IsNullOrEmpty(progress.Result))
                    {
                        result = progress.Result;
                    }
                    view.Show(progress);
                }
            }
            finally
            {
                view.Finish();
            }
            await stdout.WriteLineAsync($"{verb}ed {reference} ({result})");
            return ExitCodes.Ok;
        });
}
