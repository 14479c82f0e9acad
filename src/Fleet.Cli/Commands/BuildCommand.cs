using System.CommandLine;
using System.Formats.Tar;
using Fleet.Api.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// BuildCommand is <c>fleetctl build -t REF DIR</c>: DIR goes to fleetd as a tar, fleetd builds
/// its Fleetfile into the node's store and tags the result. Fleetfile mistakes come back as
/// <c>Fleetfile:LINE:COL: error: …</c> lines and exit 2; a failing RUN is exit 1.
/// </summary>
public static class BuildCommand
{
    /// <summary>ChunkSize is how much of the context tar one message carries.</summary>
    public const int ChunkSize = 256 * 1024;

    public static readonly Argument<string> Context = new("DIR") { Description = "The build context: a directory holding the Fleetfile and the files it copies." };

    public static readonly Option<string> Tag = new("--tag", "-t") { Description = "The name to give the image (app:v1).", Required = true };

    public static readonly Option<string?> File = new("--file", "-f") { Description = "The Fleetfile's path inside DIR (default: Fleetfile)." };

    public static readonly Option<string[]> BuildArgs = new("--build-arg") { Description = "An ARG value, NAME=VALUE (repeat)." };

    public static readonly Option<bool> NoCache = new("--no-cache") { Description = "Make every layer again." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static BuildCommand() => BuildArgs.Validators.Add(result =>
    {
        foreach (var arg in result.GetValueOrDefault<string[]>() ?? [])
        {
            if (arg.IndexOf('=', StringComparison.Ordinal) <= 0)
            {
                result.AddError($"--build-arg `{arg}` is not NAME=VALUE");
            }
        }
    });

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("build", "Build an image from DIR's Fleetfile into the node's store.");
        command.Arguments.Add(Context);
        command.Options.Add(Tag);
        command.Options.Add(File);
        command.Options.Add(BuildArgs);
        command.Options.Add(NoCache);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(
            parsed.GetValue(Context)!, parsed.GetValue(Tag)!, parsed.GetValue(File), parsed.GetValue(BuildArgs) ?? [], parsed.GetValue(NoCache),
            ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken));
        return command;
    }

    public static async Task<int> Execute(string dir, string tag, string? fleetfile, IReadOnlyList<string> buildArgs, bool noCache, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (!Directory.Exists(dir))
        {
            await stderr.WriteLineAsync($"error: build context {dir} is not a directory");
            return ExitCodes.Failure;
        }
        var spool = Path.Combine(Path.GetTempPath(), $"fleetctl-context-{Guid.NewGuid():N}.tar");
        try
        {
            await TarFile.CreateFromDirectoryAsync(dir, spool, includeBaseDirectory: false, cancellationToken);
            return await ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
            {
                using var call = client.Build(options);
                var start = new BuildStart { Tag = tag, Fleetfile = fleetfile ?? "", NoCache = noCache };
                foreach (var arg in buildArgs)
                {
                    var equals = arg.IndexOf('=', StringComparison.Ordinal);
                    start.BuildArgs[arg[..equals]] = arg[(equals + 1)..];
                }
                await call.RequestStream.WriteAsync(new BuildRequest { Start = start }, options.CancellationToken);
                await using (var tar = System.IO.File.OpenRead(spool))
                {
                    var buffer = new byte[ChunkSize];
                    int read;
                    while ((read = await tar.ReadAsync(buffer, options.CancellationToken)) > 0)
                    {
                        await call.RequestStream.WriteAsync(new BuildRequest { Context = ByteString.CopyFrom(buffer, 0, read) }, options.CancellationToken);
                    }
                }
                await call.RequestStream.CompleteAsync();
                try
                {
                    var step = 0;
                    await foreach (var output in call.ResponseStream.ReadAllAsync(options.CancellationToken))
                    {
                        if (output.OutputCase == BuildOutput.OutputOneofCase.Step)
                        {
                            await stdout.WriteLineAsync($"STEP {++step}: {output.Step}");
                        }
                        else if (output.OutputCase == BuildOutput.OutputOneofCase.Result)
                        {
                            var r = output.Result;
                            await stdout.WriteLineAsync($"built {r.Reference} ({r.Digest}, {ImagesCommand.Bytes(r.Size)}, {r.CachedSteps} cached)");
                        }
                    }
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains(": error: ", StringComparison.Ordinal))
                {
                    // Fleetfile mistakes are already "FILE:LINE:COL: error: …", one per line.
                    await stderr.WriteLineAsync(e.Status.Detail);
                    return ExitCodes.Invalid;
                }
                return ExitCodes.Ok;
            });
        }
        finally
        {
            System.IO.File.Delete(spool);
        }
    }
}
