using System.Diagnostics;
using System.Threading.Channels;
using Fleet.Node;
using Fleet.Runtime;

namespace Fleet.Daemon.Exec;

/// <summary>ExecChunk is one piece of an exec's output, or (with <see cref="ExitCode"/> set) its end.</summary>
internal sealed record ExecChunk(bool IsStderr, ReadOnlyMemory<byte> Data, int? ExitCode = null);

/// <summary>
/// ReplicaExec runs a command inside a running container with the fleetrt command line beside
/// the assemblies (<c>fleetrt --root RUNTIME exec ID -- CMD…</c>): it joins the container's
/// namespaces and cgroup, so the command sees what the replica sees (fleetrt's standard input is
/// the command's). Standard input is what the caller streams, or empty; output is passed on as it
/// comes. Cancelling the call kills the fleetrt process (which passes the signal to the command).
/// </summary>
internal sealed class ReplicaExec(NodePaths paths)
{
    /// <summary>FleetrtPath is the fleetrt executable beside the assemblies.</summary>
    public static string FleetrtPath => NativeRuntimeInfo.CliPath;

    /// <summary>Check returns why <paramref name="id"/> cannot exec here, or null when it can.</summary>
    public string? Check(IContainerRuntime? runtime, string id)
    {
        if (runtime is null)
        {
            return "this node has no container runtime";
        }
        if (!Directory.Exists(Path.Combine(paths.RuntimeRoot, id)))
        {
            return $"replica {id} has no container on this node";
        }
        try
        {
            var state = runtime.State(id);
            return state.Status == ContainerStatus.Running ? null : $"replica {id} is {state.StatusText}, not running";
        }
        catch (ContainerRuntimeException e)
        {
            return $"replica {id}: {e.Message}";
        }
    }

    /// <summary>
    /// RunAsync starts the command and yields its output, then its exit code. The command reads
    /// <paramref name="stdin"/> until it ends (then end of file), or nothing when it is null.
    /// </summary>
    public async IAsyncEnumerable<ExecChunk> RunAsync(string id, IReadOnlyList<string> command, IAsyncEnumerable<ReadOnlyMemory<byte>>? stdin, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(FleetrtPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["--root", paths.RuntimeRoot, "exec", id, "--", .. command])
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{FleetrtPath} did not start");
        // Feeding stops when the command exits even if the caller never ends its input.
        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feeding = Task.CompletedTask;
        if (stdin is null)
        {
            process.StandardInput.Close();
        }
        else
        {
            feeding = Feed(stdin, process.StandardInput.BaseStream, exited.Token);
        }
        var channel = Channel.CreateUnbounded<ExecChunk>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = Task.WhenAll(
            Pump(process.StandardOutput.BaseStream, isStderr: false, channel.Writer),
            Pump(process.StandardError.BaseStream, isStderr: true, channel.Writer));
        _ = pumps.ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);
        await using var kill = cancellationToken.Register(() =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }
        });
        await foreach (var chunk in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return chunk;
        }
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await exited.CancelAsync().ConfigureAwait(false);
        await feeding.ConfigureAwait(false);
        yield return new ExecChunk(false, ReadOnlyMemory<byte>.Empty, process.ExitCode);
    }

    /// <summary>
    /// Feed writes the caller's input to the command and closes its standard input at the end.
    /// A command that exits (or closes its input) before reading everything ends the feeding:
    /// the rest has nowhere to go, as with a shell pipe.
    /// </summary>
    private static async Task Feed(IAsyncEnumerable<ReadOnlyMemory<byte>> input, Stream to, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in input.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await to.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                await to.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // EPIPE: the command no longer reads.
        }
        catch (OperationCanceledException)
        {
            // the call ended; the command is being killed
        }
        finally
        {
            try
            {
                await to.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // closing a pipe whose reader is gone
            }
        }
    }

    private static async Task Pump(Stream from, bool isStderr, ChannelWriter<ExecChunk> to)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            await to.WriteAsync(new ExecChunk(isStderr, buffer.AsMemory(0, read).ToArray())).ConfigureAwait(false);
        }
    }
}
