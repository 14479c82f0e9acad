using Fleet.Api.V1;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Node;
using Fleet.Node.Migration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Status = Grpc.Core.Status;
using ApiMigration = Fleet.Api.V1.Migration;

namespace Fleet.Daemon.Api;

/// <summary>
/// Migration: `fleetctl migrate` and `get migrations` go to the controller; the node-to-node
/// rpcs of a stateful migration (manifest, pull, freeze, fence, thaw) are served from this
/// node's container driver (<see cref="IMigrationSource"/>) to the target's agent.
/// </summary>
internal sealed partial class FleetApiService
{
    /// <summary>ChunkBytes is the size of one pulled chunk.</summary>
    public const int ChunkBytes = 256 * 1024;

    public override async Task<MigrateResponse> Migrate(MigrateRequest request, ServerCallContext context)
    {
        var replica = ReplicaId.TryParse(request.Replica, out var id, out var error)
            ? id
            : throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        NodeName? to = string.IsNullOrEmpty(request.To) ? null : Node(request.To);
        if (request.BandwidthBytesPerSecond < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "bandwidth must not be negative"));
        }
        long? bandwidth = request.BandwidthBytesPerSecond > 0 ? request.BandwidthBytesPerSecond : null;
        var result = await Ask<MigrationCommands.MigrateResult>(new MigrationCommands.Migrate(replica, to, bandwidth, clock.GetUtcNow()), context);
        if (!result.Accepted || result.Migration is null)
        {
            var code = result.Message.EndsWith("not found", StringComparison.Ordinal) ? StatusCode.NotFound : StatusCode.FailedPrecondition;
            throw new RpcException(new Status(code, result.Message));
        }
        return new MigrateResponse { Message = result.Message, Migration = ToProto(result.Migration) };
    }

    public override async Task<GetMigrationsResponse> GetMigrations(GetMigrationsRequest request, ServerCallContext context)
    {
        var answer = await Ask<MigrationCommands.MigrationsResponse>(new MigrationCommands.GetMigrations(), context);
        var response = new GetMigrationsResponse();
        response.Migrations.AddRange(answer.Migrations.Select(ToProto));
        return response;
    }

    public override Task<MigrationManifestResponse> MigrationManifest(MigrationSourceRequest request, ServerCallContext context) =>
        OnSource(context, source =>
        {
            var response = new MigrationManifestResponse();
            response.Entries.AddRange(source.Manifest(Replica(request.Replica)).Select(e => new Fleet.Api.V1.MigrationEntry
            {
                Root = e.Root,
                Path = e.Path,
                Kind = e.Kind.ToString().ToLowerInvariant(),
                Mode = e.Mode,
                Uid = e.Uid,
                Gid = e.Gid,
                Size = e.Size,
                MtimeNs = e.MtimeNs,
                LinkTarget = e.LinkTarget ?? "",
                Opaque = e.Opaque,
            }));
            return Task.FromResult(response);
        });

    public override Task MigrationPull(MigrationPullRequest request, IServerStreamWriter<MigrationChunk> responseStream, ServerCallContext context) =>
        OnSource(context, async source =>
        {
            // The whole file is hashed (the prefix the target already has included); only bytes from the offset are sent.
            await using var file = source.OpenRead(Replica(request.Replica), request.Root, request.Path);
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[ChunkBytes];
            long position = 0;
            while (true)
            {
                var n = await file.ReadAsync(buffer, context.CancellationToken);
                if (n == 0)
                {
                    break;
                }
                hash.AppendData(buffer, 0, n);
                var skip = (int)Math.Clamp(request.Offset - position, 0, n);
                position += n;
                if (skip < n)
                {
                    await responseStream.WriteAsync(new MigrationChunk { Data = ByteString.CopyFrom(buffer, skip, n - skip) }, context.CancellationToken);
                }
            }
            await responseStream.WriteAsync(new MigrationChunk { Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()), Size = position }, context.CancellationToken);
            return true;
        });

    public override Task<MigrationSourceResponse> MigrationFreeze(MigrationSourceRequest request, ServerCallContext context) =>
        OnSource(context, async source =>
        {
            var lease = request.LeaseMs > 0 ? TimeSpan.FromMilliseconds(request.LeaseMs) : ReplicaImporter.FreezeLease;
            await source.FreezeAsync(Replica(request.Replica), request.Migration, lease, context.CancellationToken);
            return new MigrationSourceResponse { Message = $"{request.Replica} frozen for {request.Migration} (lease {lease.TotalSeconds:0} s)" };
        });

    public override Task<MigrationSourceResponse> MigrationFence(MigrationSourceRequest request, ServerCallContext context) =>
        OnSource(context, source =>
        {
            source.Fence(Replica(request.Replica), request.Migration);
            return Task.FromResult(new MigrationSourceResponse { Message = $"{request.Replica} fenced: it never resumes" });
        });

    public override Task<MigrationSourceResponse> MigrationThaw(MigrationSourceRequest request, ServerCallContext context) =>
        OnSource(context, async source =>
        {
            await source.ThawAsync(Replica(request.Replica), request.Migration, request.Unfence, context.CancellationToken);
            return new MigrationSourceResponse { Message = $"{request.Replica} thawed unless fenced" };
        });

    private static async Task<T> OnSource<T>(ServerCallContext context, Func<IMigrationSource, Task<T>> action)
    {
        var paths = context.GetHttpContext().RequestServices.GetRequiredService<NodePaths>();
        var source = MigrationSources.Find(paths)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "this node runs no container driver: nothing to migrate from here"));
        try
        {
            return await action(source);
        }
        catch (MigrationException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (FileNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
        catch (DirectoryNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
    }

    private static ReplicaId Replica(string text) =>
        ReplicaId.TryParse(text, out var id, out var error) ? id : throw new RpcException(new Status(StatusCode.InvalidArgument, error));

    /// <summary>ToProto maps one migration for `get migrations`.</summary>
    internal static ApiMigration ToProto(MigrationRecord m)
    {
        var proto = new ApiMigration
        {
            Id = m.Id,
            Replica = m.Replica.ToString(),
            Replacement = m.Replacement.ToString(),
            From = m.From.Value,
            To = m.To.Value,
            Mode = m.Mode == MigrationMode.FreezeAndCopy ? "freeze-and-copy" : "make-before-break",
            Phase = m.Phase == MigrationPhase.RolledBack ? "rolled-back" : m.Phase.ToString().ToLowerInvariant(),
            Reason = m.Reason,
            StartedAt = Timestamp.FromDateTimeOffset(m.StartedAt),
            Outcome = m.Outcome ?? "",
            PreCopyBytes = m.Timings.PreCopyBytes,
            FinalCopyBytes = m.Timings.FinalCopyBytes,
        };
        if (m.FinishedAt is { } finished)
        {
            proto.FinishedAt = Timestamp.FromDateTimeOffset(finished);
        }
        if (m.Timings.PrepareMs is { } prepare)
        {
            proto.PrepareMs = prepare;
        }
        if (m.Timings.PreCopyMs is { } pre)
        {
            proto.PreCopyMs = pre;
        }
        if (m.Timings.FreezeMs is { } freeze)
        {
            proto.FreezeMs = freeze;
        }
        if (m.Timings.FinalCopyMs is { } final)
        {
            proto.FinalCopyMs = final;
        }
        if (m.Timings.DowntimeMs is { } down)
        {
            proto.DowntimeMs = down;
        }
        return proto;
    }
}
