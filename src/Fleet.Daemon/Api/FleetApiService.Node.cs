using System.Threading.Channels;
using Fleet.Api.V1;
using Fleet.Build;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Daemon.Logs;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Status = Grpc.Core.Status;
using BuildRequest = Fleet.Api.V1.BuildRequest;
using ApiEvent = Fleet.Api.V1.Event;
using ApiImage = Fleet.Api.V1.Image;
using ApiVolume = Fleet.Api.V1.Volume;
using ApiBuildResult = Fleet.Api.V1.BuildResult;

namespace Fleet.Daemon.Api;

/// <summary>
/// The verbs served from this node's own data (logs, exec, images, volumes) and the event
/// stream. Refusals are gRPC statuses with one clear message: NOT_FOUND, INVALID_ARGUMENT,
/// FAILED_PRECONDITION (in use, not running).
/// </summary>
internal sealed partial class FleetApiService
{
    /// <summary>EventPollInterval is how often WatchEvents asks the controller for new events.</summary>
    public static readonly TimeSpan EventPollInterval = TimeSpan.FromMilliseconds(300);

    /// <summary>LateNodesInterval is how often `logs -f SERVICE` asks which other nodes have replicas now.</summary>
    public static readonly TimeSpan LateNodesInterval = TimeSpan.FromSeconds(2);

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<ApiEvent> responseStream, ServerCallContext context)
    {
        // Events carry no sequence number on the wire: a (time, kind, service, generation) key
        // tells a new one from one already sent.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in (await Ask<ControllerProtocol.EventsResponse>(new ControllerProtocol.GetEvents(DefaultEventLimit), context)).Events)
        {
            seen.Add(Key(e.ToProto()));
        }
        while (!context.CancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(EventPollInterval, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            ControllerProtocol.EventsResponse answer;
            try
            {
                answer = await Ask<ControllerProtocol.EventsResponse>(new ControllerProtocol.GetEvents(DefaultEventLimit), context);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                continue; // the controller moves or restarts; keep watching
            }
            foreach (var e in answer.Events.Select(e => e.ToProto()))
            {
                if (seen.Add(Key(e)))
                {
                    await responseStream.WriteAsync(e, context.CancellationToken);
                }
            }
        }

        static string Key(ApiEvent e) => $"{e.At}|{e.Kind}|{e.Service}|{e.Generation}|{e.Message}";
    }

    /// <summary>HistoryEndStream marks, in a passed-on follow, where the lines already written end (never sent to fleetctl).</summary>
    private const string HistoryEndStream = "fleet.history-end";

    /// <summary>
    /// Logs serves a replica's or a service's lines. On the node fleetctl talks to, replicas on
    /// other nodes (by the controller's view) are read through those nodes' APIs and merged by
    /// time with this node's; a call passed on by another node is answered from this node alone.
    /// Following a service also follows it onto nodes that get replicas of it later.
    /// </summary>
    public override async Task Logs(LogsRequest request, IServerStreamWriter<LogLine> responseStream, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Target))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "logs needs a replica id or a service name"));
        }
        var tail = request.HasTail ? request.Tail : -1;
        var local = node.Logs.Resolve(request.Target);
        var forwarded = PeerNodes.IsForwarded(context);
        var peers = Peers(context);
        var remote = forwarded ? [] : await NodesWithReplicasOf(request.Target, peers, context);
        if (local.Count == 0 && remote.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, forwarded || peers.IsAlone
                ? $"no replica or service `{request.Target}` has logs on this node"
                : $"no replica or service `{request.Target}` has logs on any node"));
        }
        var sources = new List<IAsyncEnumerable<LogEntry>>();
        if (local.Count > 0)
        {
            sources.Add(node.Logs.ReadAsync(request.Target, local, request.Follow, tail, context.CancellationToken));
        }
        foreach (var peer in remote)
        {
            sources.Add(RemoteLogs(peers, peer, request, alone: sources.Count == 0 && remote.Count == 1, context.CancellationToken));
        }
        if (request.Follow && !forwarded && !peers.IsAlone && !ReplicaId.TryParse(request.Target, out _, out _))
        {
            // Following a service: its replicas may later start on nodes that had none (a scale-up,
            // a node failure, a rebalance), as `kubectl logs -f -l` does not but a user expects.
            sources.Add(LateNodesLogs(peers, request, [.. remote], context, context.CancellationToken));
        }
        var lines = sources.Count == 1 ? sources[0] : LogMerge.MergeAsync(sources, request.Follow, context.CancellationToken);
        try
        {
            await foreach (var entry in lines)
            {
                if (entry.IsEndOfHistory && !forwarded)
                {
                    continue;
                }
                await responseStream.WriteAsync(entry.IsEndOfHistory
                    ? new LogLine { Stream = HistoryEndStream }
                    : new LogLine
                    {
                        Replica = entry.Replica,
                        Time = Timestamp.FromDateTimeOffset(entry.Time),
                        Stream = entry.Stream,
                        Text = entry.Text,
                    }, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // the client stopped following
        }
    }

    /// <summary>
    /// RemoteLogs reads <paramref name="peer"/>'s lines of the target. A node that has none is
    /// no source; one that cannot be reached is skipped with a warning, unless it is the only
    /// source (then its error is the answer).
    /// </summary>
    private async IAsyncEnumerable<LogEntry> RemoteLogs(PeerNodes peers, NodeName peer, LogsRequest request, bool alone, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = peers.Client(peer)!;
        using var call = client.Logs(request, peers.Forwarded(), cancellationToken: cancellationToken);
        while (true)
        {
            LogLine line;
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken))
                {
                    yield break;
                }
                line = call.ResponseStream.Current;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound || (!alone && e.StatusCode != StatusCode.Cancelled))
            {
                if (e.StatusCode != StatusCode.NotFound)
                {
                    RemoteLog.LogsUnavailable(node.Logger, request.Target, peer.Value, e.Status.Detail);
                }
                yield break;
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                throw new RpcException(new Status(e.StatusCode, $"logs of {request.Target} on node {peer}: {e.Status.Detail}"));
            }
            yield return line.Stream == HistoryEndStream && line.Replica.Length == 0
                ? LogEntry.EndOfHistory
                : new LogEntry(line.Replica, line.Time?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch, line.Stream, line.Text);
        }
    }

    /// <summary>
    /// LateNodesLogs follows a service onto the other nodes that get replicas of it after the call
    /// began: it asks the controller every <see cref="LateNodesInterval"/> and streams each new
    /// node's lines (all of them: they are new since the call began). It has no history of its own.
    /// </summary>
    private async IAsyncEnumerable<LogEntry> LateNodesLogs(PeerNodes peers, LogsRequest request, HashSet<NodeName> known, ServerCallContext context, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return LogEntry.EndOfHistory;
        var late = request.Clone();
        late.ClearTail();
        var lines = System.Threading.Channels.Channel.CreateUnbounded<LogEntry>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pumps = new List<Task>();
        async Task Pump(NodeName peer)
        {
            await foreach (var entry in RemoteLogs(peers, peer, late, alone: false, stop.Token).ConfigureAwait(false))
            {
                if (!entry.IsEndOfHistory)
                {
                    await lines.Writer.WriteAsync(entry, stop.Token).ConfigureAwait(false);
                }
            }
        }
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(LateNodesInterval, stop.Token).ConfigureAwait(false);
                IReadOnlyList<NodeName> nodes;
                try
                {
                    nodes = await NodesWithReplicasOf(request.Target, peers, context).ConfigureAwait(false);
                }
                catch (RpcException) when (!stop.IsCancellationRequested)
                {
                    continue; // the controller is busy or failing over: ask again next round
                }
                foreach (var peer in nodes.Where(known.Add))
                {
                    pumps.Add(Task.Run(() => Pump(peer), CancellationToken.None));
                }
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var entry in lines.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // The watcher adds pumps: it must have ended before they are collected.
            await watcher.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            await Task.WhenAll(pumps).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// NodesWithReplicasOf names the other nodes the controller places replicas of the target on
    /// (a replica id's node, or every node with a replica of a service). Empty when this fleetd
    /// has no cluster file or the controller does not answer: then only this node's data is used.
    /// </summary>
    private async Task<IReadOnlyList<NodeName>> NodesWithReplicasOf(string target, PeerNodes peers, ServerCallContext context)
    {
        if (peers.IsAlone)
        {
            return [];
        }
        ServiceName service;
        ReplicaId? replica = null;
        if (ReplicaId.TryParse(target, out var id, out _))
        {
            service = id.Service;
            replica = id;
        }
        else if (!ServiceName.TryParse(target, out service, out _))
        {
            return [];
        }
        ControllerProtocol.ReplicasResponse answer;
        try
        {
            answer = await Ask<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(service), context);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            return [];
        }
        return [.. answer.Replicas
            .Where(r => replica is null || r.Id == replica.Value)
            .Select(r => r.Node)
            .Where(n => n != peers.Self && peers.Client(n) is not null)
            .Distinct()
            .OrderBy(n => n.Value, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Exec runs a command in a replica. A replica with no container on this node is run on the
    /// node the controller places it on, through that node's API, output and exit code passed
    /// through as they come.
    /// </summary>
    public override Task Exec(ExecRequest request, IServerStreamWriter<ExecOutput> responseStream, ServerCallContext context) =>
        RunExec(request, null, responseStream, context);

    /// <summary>ExecWithStdin is <see cref="Exec"/> whose command reads what the client streams after its request.</summary>
    public override async Task ExecWithStdin(IAsyncStreamReader<ExecInput> requestStream, IServerStreamWriter<ExecOutput> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.InputCase != ExecInput.InputOneofCase.Start)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "an exec with standard input starts with its request (ExecInput.start), then the input"));
        }
        await RunExec(requestStream.Current.Start, requestStream, responseStream, context);
    }

    /// <summary>RunExec runs the command here, or on the node that has the replica; <paramref name="input"/> (null: none) is its standard input.</summary>
    private async Task RunExec(ExecRequest request, IAsyncStreamReader<ExecInput>? input, IServerStreamWriter<ExecOutput> responseStream, ServerCallContext context)
    {
        if (!ReplicaId.TryParse(request.Replica, out var id, out var error))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
        if (request.Command.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "exec needs a command"));
        }
        if (node.Exec.Check(node.Runtime.Value, id.ToString()) is { } refusal)
        {
            var peers = Peers(context);
            var owners = PeerNodes.IsForwarded(context) ? [] : await NodesWithReplicasOf(id.ToString(), peers, context);
            if (owners.Count > 0 && peers.Client(owners[0]) is { } client)
            {
                try
                {
                    await (input is null
                        ? Pass(client.Exec(request, peers.Forwarded(), cancellationToken: context.CancellationToken), responseStream, context)
                        : ForwardWithInput(request, input, responseStream, client.ExecWithStdin(peers.Forwarded(), cancellationToken: context.CancellationToken), context));
                }
                catch (RpcException e) when (e.StatusCode is not StatusCode.Cancelled and not StatusCode.NotFound and not StatusCode.FailedPrecondition and not StatusCode.InvalidArgument)
                {
                    throw new RpcException(new Status(e.StatusCode, $"exec in {id} on node {owners[0]}: {e.Status.Detail}"));
                }
                return;
            }
            throw new RpcException(new Status(StatusCode.FailedPrecondition, refusal));
        }
        var stdin = input is null ? null : StdinOf(input, context.CancellationToken);
        await foreach (var chunk in node.Exec.RunAsync(id.ToString(), request.Command, stdin, context.CancellationToken))
        {
            var output = chunk.ExitCode is { } code ? new ExecOutput { ExitCode = code }
                : chunk.IsStderr ? new ExecOutput { Stderr = ByteString.CopyFrom(chunk.Data.Span) }
                : new ExecOutput { Stdout = ByteString.CopyFrom(chunk.Data.Span) };
            await responseStream.WriteAsync(output, context.CancellationToken);
        }
    }

    /// <summary>Pass runs the exec on the owner node: its output and exit code come back as they come.</summary>
    private static async Task Pass(AsyncServerStreamingCall<ExecOutput> call, IServerStreamWriter<ExecOutput> responseStream, ServerCallContext context)
    {
        using (call)
        {
            await Relay(call.ResponseStream, responseStream, context.CancellationToken);
        }
    }

    /// <summary>Relay copies the owner node's output and exit code to the caller as they come.</summary>
    private static async Task Relay(IAsyncStreamReader<ExecOutput> from, IServerStreamWriter<ExecOutput> to, CancellationToken cancellationToken)
    {
        await foreach (var output in from.ReadAllAsync(cancellationToken))
        {
            await to.WriteAsync(output, cancellationToken);
        }
    }

    /// <summary>ForwardWithInput runs the exec on the owner node: the client's input goes there, its output and exit code come back.</summary>
    private static async Task ForwardWithInput(ExecRequest request, IAsyncStreamReader<ExecInput> input, IServerStreamWriter<ExecOutput> responseStream, AsyncDuplexStreamingCall<ExecInput, ExecOutput> call, ServerCallContext context)
    {
        using (call)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            await call.RequestStream.WriteAsync(new ExecInput { Start = request }, context.CancellationToken);
            var passing = PassInput(input, call.RequestStream, done.Token);
            await Relay(call.ResponseStream, responseStream, context.CancellationToken);
            await done.CancelAsync();
            await passing;
        }
    }

    /// <summary>PassInput copies the client's standard input to the owner node's call, then closes it there.</summary>
    private static async Task PassInput(IAsyncStreamReader<ExecInput> from, IClientStreamWriter<ExecInput> to, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in StdinOf(from, cancellationToken))
            {
                await to.WriteAsync(new ExecInput { Stdin = ByteString.CopyFrom(chunk.Span) }, cancellationToken);
            }
            await to.CompleteAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException)
        {
            // The exec ended first (its output is complete) or the call failed: the rest of the input has nowhere to go.
        }
    }

    /// <summary>StdinOf is the standard input a client streams after its request, until it closes its side.</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> StdinOf(IAsyncStreamReader<ExecInput> requestStream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await requestStream.MoveNext(cancellationToken))
        {
            if (requestStream.Current.InputCase == ExecInput.InputOneofCase.Stdin)
            {
                yield return requestStream.Current.Stdin.Memory;
            }
        }
    }

    private static PeerNodes Peers(ServerCallContext context) =>
        context.GetHttpContext().RequestServices.GetRequiredService<PeerNodes>();

    public override async Task Build(IAsyncStreamReader<BuildRequest> requestStream, IServerStreamWriter<BuildOutput> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != BuildRequest.PartOneofCase.Start)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a build starts with its options (BuildStart), then the context"));
        }
        var start = requestStream.Current.Start;
        var tag = Reference(start.Tag);
        // The context is spooled to a file so a large one never sits in memory.
        var spool = Path.Combine(Path.GetTempPath(), $"fleetd-context-{Guid.NewGuid():N}.tar");
        try
        {
            await using (var file = File.Create(spool))
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                    if (requestStream.Current.PartCase == BuildRequest.PartOneofCase.Context)
                    {
                        requestStream.Current.Context.WriteTo(file);
                    }
                }
            }
            Fleet.Build.BuildResult result;
            await using (var tar = File.OpenRead(spool))
            {
                try
                {
                    result = await node.Images.BuildAsync(tar, tag, start.Fleetfile, start.BuildArgs, start.NoCache, context.CancellationToken);
                }
                catch (FleetfileException e)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
                }
                catch (BuildException e)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
                }
                catch (Exception e) when (e is ContentStoreException or LayerUnpackException or IOException or Fleet.Runtime.ContainerRuntimeException)
                {
                    throw new RpcException(new Status(StatusCode.Internal, $"build {tag}: {e.Message}"));
                }
            }
            foreach (var step in result.Steps)
            {
                await responseStream.WriteAsync(new BuildOutput { Step = step }, context.CancellationToken);
            }
            await responseStream.WriteAsync(new BuildOutput
            {
                Result = new ApiBuildResult
                {
                    Reference = tag.ToString(),
                    Digest = result.ManifestDigest.ToString(),
                    Size = result.ManifestSize + result.Manifest.Config.Size + result.Manifest.Layers.Sum(l => l.Size),
                    CachedSteps = result.CachedSteps,
                },
            }, context.CancellationToken);
        }
        finally
        {
            File.Delete(spool);
        }
    }

    public override Task Push(PushRequest request, IServerStreamWriter<TransferProgress> responseStream, ServerCallContext context)
    {
        var reference = Reference(request.Reference);
        if (node.Images.Find(reference) is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no image {reference} in this node's store (build or pull it first)"));
        }
        return Transfer(responseStream, context, reference, "push", progress => node.Images.PushAsync(reference, progress, context.CancellationToken));
    }

    public override Task Pull(PullRequest request, IServerStreamWriter<TransferProgress> responseStream, ServerCallContext context)
    {
        var reference = Reference(request.Reference);
        return Transfer(responseStream, context, reference, "pull", progress => node.Images.PullAsync(reference, progress, context.CancellationToken));
    }

    /// <summary>
    /// Transfer runs a push or pull, passing its progress (reported from many threads) through
    /// a channel to the one response stream, and ends with a message carrying the digest.
    /// </summary>
    private async Task Transfer(IServerStreamWriter<TransferProgress> responseStream, ServerCallContext context, ImageReference reference, string verb, Func<IProgress<PullProgress>, Task<Digest>> run)
    {
        var channel = Channel.CreateUnbounded<PullProgress>(new UnboundedChannelOptions { SingleReader = true });
        var work = Task.Run(async () =>
        {
            try
            {
                return await run(new ChannelProgress(channel.Writer));
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        });
        await foreach (var p in channel.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new TransferProgress
            {
                Digest = p.Digest.ToString(),
                Phase = Phase(p.Phase),
                Current = p.Current,
                Total = p.Total,
            }, context.CancellationToken);
        }
        Digest digest;
        try
        {
            digest = await work;
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or ManifestException or ContentStoreException or KeyNotFoundException or LayerUnpackException or IOException)
        {
            throw new RpcException(new Status(e is KeyNotFoundException ? StatusCode.NotFound : StatusCode.FailedPrecondition, $"{verb} {reference}: {e.Message}"));
        }
        if (verb == "pull")
        {
            ImageLog.Pulled(node.Logger, reference.ToString(), digest.ToString());
        }
        else
        {
            ImageLog.Pushed(node.Logger, reference.ToString(), digest.ToString());
        }
        await responseStream.WriteAsync(new TransferProgress { Result = digest.ToString() }, context.CancellationToken);
    }

    private sealed class ChannelProgress(ChannelWriter<PullProgress> writer) : IProgress<PullProgress>
    {
        public void Report(PullProgress value) => writer.TryWrite(value);
    }

    private static string Phase(PullPhase phase) => phase switch
    {
        PullPhase.AlreadyPresent => "already-present",
        _ => phase.ToString().ToLowerInvariant(),
    };

    public override Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
    {
        var response = new ListImagesResponse();
        response.Images.AddRange(node.Images.List().Select(i => new ApiImage
        {
            Reference = i.Reference,
            Digest = i.Digest,
            Size = i.Size,
            Created = i.Created is { } at ? Timestamp.FromDateTimeOffset(at) : null,
        }));
        return Task.FromResult(response);
    }

    public override async Task<RemoveImageResponse> RemoveImage(RemoveImageRequest request, ServerCallContext context)
    {
        var reference = Reference(request.Reference);
        if (node.Images.Find(reference) is null && node.Images.InRegistry(reference) is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no image {reference} on this node"));
        }
        var users = (await DeclaredServices(context))
            .Where(s => s.Image.ToString() == reference.ToString())
            .Select(s => s.Name.Value)
            .ToList();
        if (users.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"image {reference} is being used by service {string.Join(", ", users)}; delete the service or change its image first"));
        }
        Digest? removed;
        try
        {
            removed = await node.Images.RemoveAsync(reference, context.CancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"rmi {reference}: {e.Message}"));
        }
        return new RemoveImageResponse { Reference = reference.ToString(), Digest = removed?.ToString() ?? "" };
    }

    public override async Task<ListVolumesResponse> ListVolumes(ListVolumesRequest request, ServerCallContext context)
    {
        var services = await DeclaredServices(context);
        var response = new ListVolumesResponse();
        response.Volumes.AddRange(node.Volumes.List().Select(v =>
        {
            var volume = new ApiVolume { Name = v.Name, Size = v.Size, Created = Timestamp.FromDateTimeOffset(v.Created) };
            volume.UsedBy.AddRange(UsersOf(services, v.Name));
            return volume;
        }));
        return response;
    }

    public override async Task<RemoveVolumeResponse> RemoveVolume(RemoveVolumeRequest request, ServerCallContext context)
    {
        if (!VolumeName.TryParse(request.Name, out var name, out var error))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
        if (!node.Volumes.Exists(name))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no volume {name} on this node"));
        }
        var users = UsersOf(await DeclaredServices(context), name.Value);
        if (users.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"volume {name} is in use by service {string.Join(", ", users)}; delete the service or remove the mount first"));
        }
        node.Volumes.Remove(name);
        return new RemoveVolumeResponse { Name = name.Value };
    }

    private static List<string> UsersOf(IReadOnlyList<Core.Specs.ServiceSpec> services, string volume) =>
        [.. services.Where(s => s.Volumes.Any(m => m.Name.Value == volume)).Select(s => s.Name.Value).Order(StringComparer.Ordinal)];

    private async Task<IReadOnlyList<Core.Specs.ServiceSpec>> DeclaredServices(ServerCallContext context) =>
        [.. (await Ask<ControllerProtocol.ServicesResponse>(new ControllerProtocol.GetServices(), context)).Services.Select(s => s.Entry.Spec)];

    private static ImageReference Reference(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "an image reference is required (e.g. app:v1 or 127.0.0.1:4051/app:v1)"));
        }
        return ImageReference.TryParse(text.Trim(), out var reference, out var error)
            ? reference!
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"`{text}`: {error}"));
    }
}
