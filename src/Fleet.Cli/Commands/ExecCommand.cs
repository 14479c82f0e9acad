using System.CommandLine;
using System.Text;
using Fleet.Api.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// ExecCommand is <c>fleetctl exec REPLICA -- CMD...</c>: run a command inside a running replica
/// (no terminal, empty stdin), print its output and exit with its exit code.
/// </summary>
public static class ExecCommand
{
    public static readonly Argument<string> Replica = new("REPLICA") { Description = "The replica to run the command in (web-7k2xq)." };

    public static readonly Argument<string[]> CommandLine = new("CMD")
    {
        Description = "The command and its arguments (after --).",
        Arity = ArgumentArity.OneOrMore,
    };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("exec", "Run a command inside a running replica; exits with the command's exit code.");
        command.Arguments.Add(Replica);
        command.Arguments.Add(CommandLine);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(
            parsed.GetValue(Replica)!, parsed.GetValue(CommandLine) ?? [], ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken));
        return command;
    }

    public static Task<int> Execute(string replica, IReadOnlyList<string> commandLine, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
        {
            var request = new ExecRequest { Replica = replica };
            request.Command.AddRange(commandLine);
            using var call = client.Exec(request, options);
            // Output arrives in chunks that may split a UTF-8 character: one decoder per stream.
            var decoders = (Out: Encoding.UTF8.GetDecoder(), Err: Encoding.UTF8.GetDecoder());
            await foreach (var output in call.ResponseStream.ReadAllAsync(options.CancellationToken))
            {
                switch (output.OutputCase)
                {
                    case ExecOutput.OutputOneofCase.Stdout:
                        await Write(stdout, decoders.Out, output.Stdout.Span.ToArray());
                        break;
                    case ExecOutput.OutputOneofCase.Stderr:
                        await Write(stderr, decoders.Err, output.Stderr.Span.ToArray());
                        break;
                    case ExecOutput.OutputOneofCase.ExitCode:
                        await stdout.FlushAsync(options.CancellationToken);
                        return output.ExitCode;
                }
            }
            await stderr.WriteLineAsync("error: the exec stream ended without an exit code");
            return ExitCodes.Failure;
        });

    private static async Task Write(TextWriter writer, Decoder decoder, byte[] bytes)
    {
        var chars = new char[decoder.GetCharCount(bytes, flush: false)];
        var count = decoder.GetChars(bytes, chars, flush: false);
        await writer.WriteAsync(chars.AsMemory(0, count));
        await writer.FlushAsync();
    }
}
