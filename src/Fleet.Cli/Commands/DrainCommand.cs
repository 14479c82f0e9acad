using System.CommandLine;
using System.Globalization;
using Fleet.Api.V1;
using Fleet.Core.Quantities;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// DrainCommand is <c>fleetctl drain NODE [--timeout 5m] [--no-wait]</c>: cordon the node and
/// move its replicas elsewhere (stateless ones make-before-break: the replacement is healthy
/// before the old one stops; stateful ones stop first, then start elsewhere — their volumes stay
/// on the node). It then waits until no replica is left on the node, printing progress, and says
/// why when replicas cannot move. Exit 0 drained (or not waited for), 1 when the drain did not
/// finish within the timeout, 2 for a usage error.
/// </summary>
public static class DrainCommand
{
    /// <summary>DefaultTimeout is how long drain waits by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>PollInterval is how often the node is looked at while waiting.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static readonly Argument<string> Node = CordonCommand.NodeArgument("The node to drain.");

    public static readonly Option<string?> Timeout = TimeoutOption.Create("How long to wait for the node to be empty, e.g. 90s, 10m (default 5m).");

    public static readonly Option<bool> NoWait = new("--no-wait") { Description = "Start the drain and return at once." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("drain", "Cordon a node and move its replicas elsewhere; waits until it is empty.");
        command.Arguments.Add(Node);
        command.Options.Add(Timeout);
        command.Options.Add(NoWait);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) =>
        {
            var timeout = parsed.GetValue(Timeout) is { } text && DurationText.TryParse(text, out var value, out _) ? value : DefaultTimeout;
            return Execute(parsed.GetValue(Node)!, timeout, parsed.GetValue(NoWait), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken);
        });
        return command;
    }

    public static Task<int> Execute(string node, TimeSpan timeout, bool noWait, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
        {
            var call = options.WithDeadline(DateTime.UtcNow.Add(ServerConnection.CallTimeout));
            var response = await client.DrainAsync(new DrainRequest { Node = node }, call);
            await stdout.WriteLineAsync(response.Message);
            if (noWait)
            {
                return ExitCodes.Ok;
            }
            return await WaitAsync(node, async token =>
            {
                var nodes = await client.GetNodesAsync(new GetNodesRequest(), new CallOptions(deadline: DateTime.UtcNow.Add(ServerConnection.CallTimeout), cancellationToken: token));
                return nodes.Nodes.FirstOrDefault(n => n.Name == node);
            }, timeout, PollInterval, stdout, stderr, options.CancellationToken);
        });

    /// <summary>
    /// WaitAsync polls the node until it holds no replica, printing the count when it changes and
    /// the reasons replicas cannot move when they change. A node no longer listed holds nothing.
    /// </summary>
    internal static async Task<int> WaitAsync(string node, Func<CancellationToken, Task<Api.V1.Node?>> poll, TimeSpan timeout, TimeSpan interval,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(poll);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var deadline = DateTimeOffset.UtcNow + timeout;
        var lastCount = -1;
        var lastBlockers = "";
        Api.V1.Node? last = null;
        while (true)
        {
            var current = await poll(cancellationToken);
            if (current is null || current.Replicas == 0)
            {
                await stdout.WriteLineAsync($"node/{node} drained");
                return ExitCodes.Ok;
            }
            last = current;
            if (current.Replicas != lastCount)
            {
                lastCount = current.Replicas;
                await stdout.WriteLineAsync($"{node}: {Replicas(current.Replicas)} left");
            }
            var blockers = string.Join("\n", current.DrainBlockers);
            if (blockers != lastBlockers)
            {
                lastBlockers = blockers;
                foreach (var line in current.DrainBlockers)
                {
                    await stdout.WriteLineAsync($"{node}: {line}");
                }
            }
            await stdout.FlushAsync(cancellationToken);
            if (DateTimeOffset.UtcNow + interval > deadline)
            {
                var why = last.DrainBlockers.Count > 0 ? $": {string.Join("; ", last.DrainBlockers)}" : "";
                await stderr.WriteLineAsync($"error: drain of {node} did not finish within {DurationText.Format(timeout)}: {Replicas(last.Replicas)} left{why}");
                return ExitCodes.Failure;
            }
            await Task.Delay(interval, cancellationToken);
        }
    }

    private static string Replicas(int count) => count == 1 ? "1 replica" : $"{count.ToString(CultureInfo.InvariantCulture)} replicas";
}
