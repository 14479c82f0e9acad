using Fleet.Api.V1;
using Fleet.Core.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace Fleet.Daemon.Api;

/// <summary>
/// The rollout verbs (`fleetctl rollout status|history|undo`): each is one message to the
/// cluster controller, which watches rollouts and keeps each service's last spec generations.
/// </summary>
internal sealed partial class FleetApiService
{
    public override async Task<RolloutStatusResponse> RolloutStatus(RolloutStatusRequest request, ServerCallContext context)
    {
        var answer = await Rollout(request.Service, context);
        var progress = answer.Progress!;
        var response = new RolloutStatusResponse
        {
            Service = answer.Service.Value,
            Generation = progress.Generation,
            ServiceGeneration = progress.ServiceGeneration,
            Outcome = Word(progress.Outcome),
            Desired = progress.Desired,
            Updated = progress.Updated,
            Available = progress.Available,
            Old = progress.Old,
            Failures = progress.Failures,
            Reason = progress.Reason ?? "",
        };
        response.Revisions.AddRange(answer.Revisions.Select(r => Revision(r, withSpec: false)));
        return response;
    }

    public override async Task<RolloutHistoryResponse> RolloutHistory(RolloutHistoryRequest request, ServerCallContext context)
    {
        var answer = await Rollout(request.Service, context);
        if (request.Generation > 0 && answer.Revisions.All(r => r.Generation != request.Generation))
        {
            var kept = string.Join(", ", answer.Revisions.Select(r => r.Generation));
            throw new RpcException(new Status(StatusCode.NotFound,
                $"generation {request.Generation} is not in the revision history of service {answer.Service} (kept: {kept})"));
        }
        var response = new RolloutHistoryResponse { Service = answer.Service.Value };
        response.Revisions.AddRange(answer.Revisions.Select(r => Revision(r, withSpec: r.Generation == request.Generation)));
        return response;
    }

    public override async Task<RolloutUndoResponse> RolloutUndo(RolloutUndoRequest request, ServerCallContext context)
    {
        if (request.ToGeneration < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"to_generation: {request.ToGeneration} must be 1 or more"));
        }
        var undo = new RolloutProtocol.Undo(Name(request.Service), request.ToGeneration > 0 ? request.ToGeneration : null, clock.GetUtcNow());
        var result = await Ask<Core.State.CommandResult>(undo, context);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => throw new RpcException(new Status(StatusCode.NotFound, result.Message)),
            CommandOutcome.Invalid => throw new RpcException(new Status(StatusCode.InvalidArgument, result.Message)),
            _ => new RolloutUndoResponse { Result = result.ToProto() },
        };
    }

    private async Task<RolloutProtocol.RolloutResponse> Rollout(string service, ServerCallContext context)
    {
        var name = Name(service);
        var answer = await Ask<RolloutProtocol.RolloutResponse>(new RolloutProtocol.GetRollout(name), context);
        return answer.Progress is null
            ? throw new RpcException(new Status(StatusCode.NotFound, $"service {name} not found"))
            : answer;
    }

    private static RolloutRevision Revision(ServiceRevision revision, bool withSpec)
    {
        var proto = new RolloutRevision
        {
            Generation = revision.Generation,
            At = Timestamp.FromDateTimeOffset(revision.At),
            Image = revision.Spec.Image.ToString(),
            Change = revision.Change,
            Outcome = Word(revision.Outcome),
            Reason = revision.Reason ?? "",
            RolledBackTo = revision.RolledBackTo ?? 0,
        };
        if (withSpec)
        {
            proto.SpecJson = ProtoMapping.SpecJson(revision.Spec);
        }
        return proto;
    }

    private static string Word(RolloutOutcome outcome) => outcome.ToString().ToLowerInvariant();
}
