using Fleet.Api.V1;
using Fleet.Core.Ids;
using Fleet.Daemon.Logs;
using Fleet.Node.Migration;
using Grpc.Core;

namespace Fleet.Daemon.Migration;

/// <summary>
/// GrpcMigrationTransport is how this node, as the target of a stateful migration, reaches the
/// source node: the migration rpcs on the source's API port (the cluster file's address and
/// api port, as for logs and exec). A refusal of the source (FAILED_PRECONDITION) becomes a
/// <see cref="MigrationException"/> with its message.
/// </summary>
internal sealed class GrpcMigrationTransport(PeerNodes peers) : IMigrationTransport
{
    /// <summary>CallTimeout bounds the calls that are not file transfers.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    public async Task<IReadOnlyList<Node.Migration.MigrationEntry>> ManifestAsync(NodeName source, ReplicaId replica, string migration, CancellationToken cancellationToken)
    {
        var response = await Call(source, c => c.MigrationManifestAsync(Request(replica, migration), deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        return response.Entries.Select(e => new Node.Migration.MigrationEntry(
            e.Root, e.Path, Enum.Parse<MigrationEntryKind>(e.Kind, ignoreCase: true), e.Mode, e.Uid, e.Gid, e.Size, e.MtimeNs,
            e.LinkTarget.Length == 0 ? null : e.LinkTarget, e.Opaque)).ToList();
    }

    public Task<string> PullAsync(NodeName source, ReplicaId replica, string migration, string root, string path, long offset, Stream destination, CancellationToken cancellationToken) =>
        Call(source, async client =>
        {
            using var call = client.MigrationPull(new MigrationPullRequest
            {
                Migration = migration,
                Replica = replica.ToString(),
                Root = root,
                Path = path,
                Offset = offset,
            }, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunk.Sha256.Length > 0)
                {
                    return chunk.Sha256;
                }
                await destination.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
            }
            throw new IOException($"{root}/{path}: the source ended the transfer without a checksum");
        });

    public Task FreezeAsync(NodeName source, ReplicaId replica, string migration, TimeSpan lease, CancellationToken cancellationToken) =>
        Call(source, c =>
        {
            var request = Request(replica, migration);
            request.LeaseMs = (long)lease.TotalMilliseconds;
            return c.MigrationFreezeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync;
        });

    public Task FenceAsync(NodeName source, ReplicaId replica, string migration, CancellationToken cancellationToken) =>
        Call(source, c => c.MigrationFenceAsync(Request(replica, migration), deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync);

    public Task ThawAsync(NodeName source, ReplicaId replica, string migration, bool unfence, CancellationToken cancellationToken) =>
        Call(source, c =>
        {
            var request = Request(replica, migration);
            request.Unfence = unfence;
            return c.MigrationThawAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync;
        });

    private static MigrationSourceRequest Request(ReplicaId replica, string migration) => new() { Migration = migration, Replica = replica.ToString() };

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private async Task<T> Call<T>(NodeName source, Func<FleetService.FleetServiceClient, Task<T>> call)
    {
        var client = peers.Client(source) ?? throw new MigrationException($"node {source} is not in the cluster file: cannot reach it");
        try
        {
            return await call(client).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            throw new FileNotFoundException($"{source}: {e.Status.Detail}", e);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument)
        {
            throw new MigrationException($"{source}: {e.Status.Detail}", e);
        }
    }
}
