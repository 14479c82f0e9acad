using System.CommandLine;
using Fleet.Api.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// LogsCommand is <c>fleetctl logs REPLICA|SERVICE [-f] [--tail N]</c>: a replica's output, or
/// every replica of a service interleaved by time with each line prefixed by its replica id.
/// Lines the container wrote to stderr go to stderr.
/// </summary>
public static class LogsCommand
{
    public static readonly Argument<string> Target = new("REPLICA|SERVICE") { Description = "A replica id (web-7k2xq) or a service name (web)." };

    public static readonly Option<bool> Follow = new("--follow", "-f") { Description = "Keep printing new lines (across log rotation) until interrupted." };

    public static readonly Option<int> Tail = new("--tail", "-n")
    {
        Description = "Show only the last N lines of each replica first (default: all).",
        DefaultValueFactory = _ => -1,
    };

    public static readonly Option<bool> Timestamps = new("--timestamps", "-t") { Description = "Prefix each line with the time it was written." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static LogsCommand() => Tail.Validators.Add(result =>
    {
        if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) && value < -1)
        {
            result.AddError("--tail must be 0 or more");
        }
    });

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("logs", "Print the logs of a replica, or of every replica of a service.");
        command.Arguments.Add(Target);
        command.Options.Add(Follow);
        command.Options.Add(Tail);
        command.Options.Add(Timestamps);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(
            parsed.GetValue(Target)!, parsed.GetValue(Follow), parsed.GetValue(Tail), parsed.GetValue(Timestamps),
            ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken));
        return command;
    }

    public static Task<int> Execute(string target, bool follow, int tail, bool timestamps, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, follow ? null : ServerConnection.CallTimeout, cancellationToken, async (client, options) =>
        {
            var request = new LogsRequest { Target = target, Follow = follow };
            if (tail >= 0)
            {
                request.Tail = tail;
            }
            using var call = client.Logs(request, options);
            var prefixed = false;
            var first = true;
            await foreach (var line in call.ResponseStream.ReadAllAsync(options.CancellationToken))
            {
                if (first)
                {
                    // A target that names a service (not this replica id) gets the replica prefix.
                    prefixed = line.Replica != target;
                    first = false;
                }
                var writer = line.Stream == "stderr" ? stderr : stdout;
                await writer.WriteLineAsync(Format(line, prefixed, timestamps));
                await writer.FlushAsync(options.CancellationToken);
            }
            return ExitCodes.Ok;
        });

    /// <summary>Format is one printed line: [time ]replica | text for a service, [time ]text for a replica.</summary>
    public static string Format(LogLine line, bool prefixed, bool timestamps)
    {
        ArgumentNullException.ThrowIfNull(line);
        var time = timestamps ? (Output.Time(line.Time) ?? "-") + " " : "";
        return prefixed ? $"{time}{line.Replica} | {line.Text}" : $"{time}{line.Text}";
    }
}
