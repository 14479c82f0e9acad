using Fleet.Api.V1;
using Fleet.Core.State;
using Grpc.Core;

namespace Fleet.Daemon.Api;

/// <summary>`fleetctl rebalance`: plan (dry run) or start a rebalance, and follow it.</summary>
internal sealed partial class FleetApiService
{
    public override async Task<RebalanceResponse> Rebalance(RebalanceRequest request, ServerCallContext context) =>
        ToProto(await Ask<RebalanceProtocol.RebalanceResponse>(new RebalanceProtocol.Rebalance(request.DryRun, clock.GetUtcNow()), context));

    public override async Task<RebalanceResponse> GetRebalance(GetRebalanceRequest request, ServerCallContext context) =>
        ToProto(await Ask<RebalanceProtocol.RebalanceResponse>(new RebalanceProtocol.GetRebalance(), context));

    /// <summary>ToProto maps the controller's answer; states are kebab-case words (`given-up`).</summary>
    internal static RebalanceResponse ToProto(RebalanceProtocol.RebalanceResponse answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var response = new RebalanceResponse { InProgress = answer.InProgress, Trigger = answer.Trigger };
        response.Moves.AddRange(answer.Moves.Select(m => new RebalanceMove
        {
            Replica = m.Replica.ToString(),
            From = m.From.Value,
            To = m.To.Value,
            Replacement = m.Replacement?.ToString() ?? "",
            Reason = m.Reason,
            State = m.State switch
            {
                RebalanceProtocol.MoveState.Planned => "planned",
                RebalanceProtocol.MoveState.Moving => "moving",
                RebalanceProtocol.MoveState.Done => "done",
                _ => "given-up",
            },
        }));
        response.Notes.AddRange(answer.Notes);
        return response;
    }
}
