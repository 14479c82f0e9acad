using Akka.Actor;
using Akka.Pattern;
using Fleet.Cluster.Control;

namespace Fleet.Cluster.Hosting;

/// <summary>
/// ControllerSupervision keeps the controller singleton alive through journal outages. Akka
/// Persistence stops a persistent actor whose journal write or recovery fails (a PostgreSQL
/// that is down or unreachable), and a cluster singleton that stops is not started again — so
/// the singleton is a backoff supervisor that starts the controller again (1 s, doubling to
/// 10 s) until its recovery succeeds, and meanwhile answers every ask at once with
/// <see cref="ControllerUnavailableException"/> instead of letting it time out.
/// </summary>
public static class ControllerSupervision
{
    /// <summary>ChildName is the controller's actor name under the supervisor.</summary>
    public const string ChildName = "controller";

    public static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Props wraps the controller's props in the backoff supervisor.</summary>
    public static Props Props(ControllerSettings settings) =>
        BackoffSupervisor.Props(
            Backoff.OnStop(ClusterController.Props(settings), ChildName, MinBackoff, MaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)
                .WithReplyWhileStopped(new Status.Failure(new ControllerUnavailableException(
                    "the cluster controller is restarting: its journal failed (is the persistence database reachable? see the control-plane node's log)"))));
}

/// <summary>ControllerUnavailableException answers an ask while the controller is down and being restarted.</summary>
public sealed class ControllerUnavailableException(string message) : Exception(message);
