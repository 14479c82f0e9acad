using System.CommandLine;
using System.Text;
using Fleet.Api.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// ExecCommand is <c>fleetctl exec [-i] REPLICA -- CMD...</c>: run a command inside a running
/// replica (no terminal), print its output and exit with its exit code. With -i fleetctl's
/// standard input is the command's (until it ends); without it the command reads end of file,
/// as with docker exec and kubectl exec.
/// </summary>
public static class ExecCommand
{
    public static readonly Argument<string> Replica = new("REPLICA") { Description = "The replica to run the command in (web-7k2xq)." };

    public static readonly Argument<string[]> CommandLine = new("CMD")
    {
        Description = "The command and its arguments (after --).",
        Arity = ArgumentArity.OneOrMore,
    };

    public static readonly Option<bool> Stdin = new("--stdin", "-i", "--interactive") { Description = "Pass fleetctl's standard input to the command." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    /// <summary>Create makes the verb; <paramref name="stdin"/> opens the input -i passes on.</summary>
    public static Command Create(Func<Stream> stdin, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdin);
        var command = new Command("exec", "Run a command inside a running replica; exits with the command's exit code.");
        command.Arguments.Add(Replica);
        command.Arguments.Add(CommandLine);
        command.Options.Add(Stdin);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(
            parsed.GetValue(Replica)!, parsed.GetValue(CommandLine) ?? [], ServerConnection.Resolve(parsed.GetValue(Server)),
            parsed.GetValue(Stdin) ? stdin() : null, stdout, stderr, cancellationToken));
        return command;
    }

    /// <summary>Execute runs the command; <paramref name="stdin"/> (null: none) is passed on until it ends.</summary>
    public static Task<int> Execute(string replica, IReadOnlyList<string> commandLine, string server, Stream? stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
        {
            var request = new ExecRequest { Replica = replica };
            request.Command.AddRange(commandLine);
            if (stdin is null)
            {
                using var call = client.Exec(request, options);
                return await Print(call.ResponseStream, stdout, stderr, options.CancellationToken);
            }
            using var duplex = client.ExecWithStdin(options);
            try
            {
                await duplex.RequestStream.WriteAsync(new ExecInput { Start = request }, options.CancellationToken);
                // Not awaited: a command may exit before its input ends (a terminal's never does).
                _ = Send(stdin, duplex.RequestStream, options.CancellationToken);
                return await Print(duplex.ResponseStream, stdout, stderr, options.CancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                await stderr.WriteLineAsync($"error: the fleetd at {server} is older than exec -i (it cannot pass standard input); run without -i");
                return ExitCodes.Failure;
            }
        });

    /// <summary>Print writes the command's output as it comes and returns its exit code.</summary>
    private static async Task<int> Print(IAsyncStreamReader<ExecOutput> outputs, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        // Output arrives in chunks that may split a UTF-8 character: one decoder per stream.
        var decoders = (Out: Encoding.UTF8.GetDecoder(), Err: Encoding.UTF8.GetDecoder());
        await foreach (var output in outputs.ReadAllAsync(cancellationToken))
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
                    await stdout.FlushAsync(cancellationToken);
                    return output.ExitCode;
            }
        }
        await stderr.WriteLineAsync("error: the exec stream ended without an exit code");
        return ExitCodes.Failure;
    }

    /// <summary>Send streams <paramref name="stdin"/> to the command, then closes the request side.</summary>
    private static async Task Send(Stream stdin, IClientStreamWriter<ExecInput> to, CancellationToken cancellationToken)
    {
        try
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stdin.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await to.WriteAsync(new ExecInput { Stdin = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
            }
            await to.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The exec ended first: the rest of the input has nowhere to go.
        }
    }

    private static async Task Write(TextWriter writer, Decoder decoder, byte[] bytes)
    {
        var chars = new char[decoder.GetCharCount(bytes, flush: false)];
        var count = decoder.GetChars(bytes, chars, flush: false);
        await writer.WriteAsync(chars.AsMemory(0, count));
        await writer.FlushAsync();
    }
}
