using Akka.Actor;
using Akka.Hosting;
using Fleet.Api.V1;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace Fleet.Daemon.Api;

/// <summary>
/// FleetApiService serves fleet.v1 on the api port: each call becomes one message to the
/// cluster controller singleton (through its proxy, so any node can serve it). Rejections become
/// gRPC statuses with the controller's message; a controller that does not answer is UNAVAILABLE.
/// </summary>
internal sealed partial class FleetApiService(ActorRegistry registry, TimeProvider clock, NodeVerbs node) : FleetService.FleetServiceBase
{
    /// <summary>AskTimeout bounds every call to the controller.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    private const int DefaultEventLimit = 100;

    public override async Task<ApplyResponse> Apply(ApplyRequest request, ServerCallContext context)
    {
        var set = SpecLoader.Load(request.Files.Select(f => new SpecSource(f.Name, f.Content)));
        if (!set.IsValid)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("\n", set.Errors)));
        }
        if (set.Clusters.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "apply takes `kind: Service` documents; a cluster file configures fleetd (--config)"));
        }
        if (set.Services.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "no `kind: Service` document to apply"));
        }
        var response = new ApplyResponse();
        foreach (var spec in set.Services)
        {
            var result = await Command(new ServiceCommands.Apply(spec, clock.GetUtcNow()), context);
            response.Results.Add(result.ToProto());
        }
        return response;
    }

    public override async Task<GetServicesResponse> GetServices(GetServicesRequest request, ServerCallContext context)
    {
        var answer = await Ask<ControllerProtocol.ServicesResponse>(new ControllerProtocol.GetServices(), context);
        var response = new GetServicesResponse();
        response.Services.AddRange(answer.Services.Select(s => s.ToProto()));
        return response;
    }

    public override async Task<GetReplicasResponse> GetReplicas(GetReplicasRequest request, ServerCallContext context)
    {
        ServiceName? service = string.IsNullOrEmpty(request.Service) ? null : Name(request.Service);
        var answer = await Ask<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(service), context);
        var response = new GetReplicasResponse();
        response.Replicas.AddRange(answer.Replicas.Select(r => r.ToProto()));
        return response;
    }

    public override async Task<GetNodesResponse> GetNodes(GetNodesRequest request, ServerCallContext context)
    {
        var nodes = await Ask<ControllerProtocol.NodeSummariesResponse>(new ControllerProtocol.GetNodeSummaries(), context);
        var response = new GetNodesResponse();
        response.Nodes.AddRange(nodes.Nodes.Select(n => n.ToProto()));
        return response;
    }

    public override Task<NodeCommandResponse> Cordon(CordonRequest request, ServerCallContext context) =>
        NodeCommand(new NodeCommands.Cordon(Node(request.Node), clock.GetUtcNow()), context);

    public override Task<NodeCommandResponse> Uncordon(UncordonRequest request, ServerCallContext context) =>
        NodeCommand(new NodeCommands.Uncordon(Node(request.Node), clock.GetUtcNow()), context);

    public override Task<NodeCommandResponse> Drain(DrainRequest request, ServerCallContext context) =>
        NodeCommand(new NodeCommands.Drain(Node(request.Node), clock.GetUtcNow()), context);

    public override async Task<DescribeServiceResponse> DescribeService(DescribeServiceRequest request, ServerCallContext context)
    {
        var name = Name(request.Service);
        var answer = await Ask<ControllerProtocol.ServiceResponse>(new ControllerProtocol.GetService(name), context);
        if (answer.Service is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"service {name} not found"));
        }
        var response = new DescribeServiceResponse
        {
            Service = answer.Service.ToProto(),
            SpecJson = ProtoMapping.SpecJson(answer.Service.Entry.Spec),
        };
        response.Replicas.AddRange(answer.Replicas.Select(r => r.ToProto()));
        response.Events.AddRange(answer.Events.Select(e => e.ToProto()));
        return response;
    }

    public override async Task<ScaleResponse> Scale(ScaleRequest request, ServerCallContext context)
    {
        var result = await Command(new ServiceCommands.Scale(Name(request.Service), request.Replicas, clock.GetUtcNow()), context);
        return new ScaleResponse { Result = result.ToProto() };
    }

    public override async Task<DeleteServiceResponse> DeleteService(DeleteServiceRequest request, ServerCallContext context)
    {
        var result = await Command(new ServiceCommands.Delete(Name(request.Service), clock.GetUtcNow()), context);
        return new DeleteServiceResponse { Result = result.ToProto() };
    }

    public override async Task<GetEventsResponse> GetEvents(GetEventsRequest request, ServerCallContext context)
    {
        var limit = request.Limit > 0 ? request.Limit : DefaultEventLimit;
        var answer = await Ask<ControllerProtocol.EventsResponse>(new ControllerProtocol.GetEvents(limit), context);
        var response = new GetEventsResponse();
        response.Events.AddRange(answer.Events.Select(e => e.ToProto()));
        return response;
    }

    private async Task<Core.State.CommandResult> Command(IServiceCommand command, ServerCallContext context)
    {
        var result = await Ask<Core.State.CommandResult>(command, context);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => throw new RpcException(new Status(StatusCode.NotFound, result.Message)),
            CommandOutcome.Invalid => throw new RpcException(new Status(StatusCode.InvalidArgument, result.Message)),
            _ => result,
        };
    }

    private async Task<NodeCommandResponse> NodeCommand(INodeCommand command, ServerCallContext context)
    {
        var result = await Ask<NodeCommandResult>(command, context);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => throw new RpcException(new Status(StatusCode.NotFound, result.Message)),
            CommandOutcome.Invalid => throw new RpcException(new Status(StatusCode.InvalidArgument, result.Message)),
            _ => result.ToProto(),
        };
    }

    private async Task<T> Ask<T>(object message, ServerCallContext context)
    {
        var controller = await registry.WaitForAsync<ControllerProxy>(context.CancellationToken);
        try
        {
            return await controller.Ask<T>(message, AskTimeout, context.CancellationToken);
        }
        catch (AskTimeoutException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"the cluster controller did not answer within {AskTimeout.TotalSeconds:0}s (is a control-plane node up?)"));
        }
        catch (ControllerUnavailableException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }

    private static NodeName Node(string text) =>
        NodeName.TryParse(text, out var name, out var error)
            ? name
            : throw new RpcException(new Status(StatusCode.InvalidArgument, error));

    private static ServiceName Name(string text) =>
        ServiceName.TryParse(text, out var name, out var error)
            ? name
            : throw new RpcException(new Status(StatusCode.InvalidArgument, error));
}
