using System.CommandLine;
using System.Net.Sockets;
using Fleet.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Cli.Commands;

/// <summary>
/// ServerConnection is how every remote verb reaches fleetd: <c>--server ADDR</c>, else
/// FLEET_SERVER, else 127.0.0.1:4050; gRPC over HTTP/2 cleartext. A failed call becomes one
/// line on stderr and exit code 1.
/// </summary>
public static class ServerConnection
{
    /// <summary>EnvironmentVariable names the server when --server is not given.</summary>
    public const string EnvironmentVariable = "FLEET_SERVER";

    /// <summary>DefaultServer is fleetd's default API address on this machine.</summary>
    public const string DefaultServer = "127.0.0.1:4050";

    /// <summary>CallTimeout bounds each call, so a wedged daemon never hangs a script.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Server is the option every remote verb carries.</summary>
    public static Option<string?> ServerOption() => new("--server", "-s")
    {
        Description = $"fleetd's API address host:port (default ${EnvironmentVariable} or {DefaultServer}).",
    };

    /// <summary>Resolve picks the address: the flag, the environment, the default.</summary>
    public static string Resolve(string? flag)
    {
        var text = flag ?? Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(text) ? DefaultServer : text.Trim();
    }

    /// <summary>
    /// Call opens a channel to <paramref name="server"/>, runs <paramref name="call"/> and turns
    /// transport and server errors into one line on <paramref name="stderr"/>.
    /// </summary>
    public static Task<int> Call(string server, TextWriter stderr, Func<FleetService.FleetServiceClient, CallOptions, Task<int>> call) =>
        Call(server, stderr, CallTimeout, CancellationToken.None, call);

    /// <summary>
    /// Call with a <paramref name="timeout"/> (null for streams that last until the user stops
    /// them) and a token cancelled by Ctrl-C: a call the user cancelled ends with exit 0.
    /// A server's INVALID_ARGUMENT (the input was read and found wrong) is exit 2.
    /// </summary>
    public static async Task<int> Call(string server, TextWriter stderr, TimeSpan? timeout, CancellationToken cancellationToken, Func<FleetService.FleetServiceClient, CallOptions, Task<int>> call)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(call);
        var address = server.Contains("://", StringComparison.Ordinal) ? server : $"http://{server}";
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            await stderr.WriteLineAsync($"error: --server: `{server}` is not host:port");
            return ExitCodes.Invalid;
        }
        using var channel = GrpcChannel.ForAddress(uri);
        var client = new FleetService.FleetServiceClient(channel);
        try
        {
            return await call(client, new CallOptions(deadline: timeout is { } t ? DateTime.UtcNow.Add(t) : null, cancellationToken: cancellationToken));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (RpcException e)
        {
            await stderr.WriteLineAsync($"error: {Describe(e, server)}");
            return e.StatusCode == StatusCode.InvalidArgument ? ExitCodes.Invalid : ExitCodes.Failure;
        }
    }

    private static string Describe(RpcException e, string server) => e.StatusCode switch
    {
        StatusCode.Unavailable when Cause<SocketException>(e) is { } socket => $"cannot reach fleetd at {server}: {socket.Message}",
        StatusCode.Unavailable when Cause<HttpRequestException>(e) is { } http => $"cannot reach fleetd at {server}: {http.Message}",
        StatusCode.DeadlineExceeded => $"fleetd at {server} did not answer within {CallTimeout.TotalSeconds:0}s",
        _ => e.Status.Detail,
    };

    private static T? Cause<T>(Exception e)
        where T : Exception
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is T match)
            {
                return match;
            }
        }
        return null;
    }
}
