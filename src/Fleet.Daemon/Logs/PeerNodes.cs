using System.Collections.Concurrent;
using Fleet.Api.V1;
using Fleet.Core.Ids;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Daemon.Logs;

/// <summary>
/// PeerNodes reaches the fleet.v1 API of the other nodes of the cluster file, for the verbs
/// served from a node's own data (logs, exec): a call for a replica on another node is passed
/// on to that node's API port. A passed-on call carries <see cref="ForwardedHeader"/>, and a
/// node that receives one answers from its own data only, so a call is passed on at most once.
/// </summary>
internal sealed class PeerNodes(DaemonOptions options) : IDisposable
{
    /// <summary>ForwardedHeader names the node that passed a call on (gRPC metadata).</summary>
    public const string ForwardedHeader = "fleet-forwarded-by";

    // Made on the first call to another node: a node on its own never loads the gRPC client. A
    // plain field, not built in the constructor: that would load Grpc.Net.Client and System.Net.Http.
    private ConcurrentDictionary<NodeName, GrpcChannel>? _channels;

    /// <summary>IsAlone is true without a cluster of other nodes to reach (no cluster file, or one node).</summary>
    public bool IsAlone => options.ClusterNodes.Count(n => n.Name != options.Node) == 0;

    /// <summary>Self is this node's name.</summary>
    public NodeName Self => options.Node;

    /// <summary>IsForwarded is true for a call another node passed on (answer it from this node's data).</summary>
    public static bool IsForwarded(ServerCallContext context) =>
        context.RequestHeaders.Get(ForwardedHeader) is not null;

    /// <summary>Client is a client of <paramref name="node"/>'s API, or null when the cluster file does not list it.</summary>
    public FleetService.FleetServiceClient? Client(NodeName node)
    {
        if (node == options.Node || options.ClusterNodes.FirstOrDefault(n => n.Name == node) is not { } entry)
        {
            return null;
        }
        var channel = LazyInitializer.EnsureInitialized(ref _channels).GetOrAdd(node, _ =>
        {
            var host = entry.Address.Contains(':', StringComparison.Ordinal) ? $"[{entry.Address}]" : entry.Address;
            return GrpcChannel.ForAddress($"http://{host}:{entry.Ports.Api}", new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    // A node that is down must fail the call quickly, not after the OS's TCP timeout.
                    ConnectTimeout = TimeSpan.FromSeconds(3),
                    EnableMultipleHttp2Connections = true,
                },
            });
        });
        return new FleetService.FleetServiceClient(channel);
    }

    /// <summary>Forwarded are the headers of a call passed on by this node.</summary>
    public Metadata Forwarded() => new() { { ForwardedHeader, options.Node.Value } };

    public void Dispose()
    {
        foreach (var channel in _channels?.Values ?? [])
        {
            channel.Dispose();
        }
    }
}
