using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;
using Fleet.Core.State;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Prometheus;

namespace Fleet.Daemon;

/// <summary>
/// FleetMetrics are fleetd's Prometheus metrics. Replica counts are read from the controller
/// just before each scrape; API durations are measured by <see cref="ApiMetricsInterceptor"/>.
/// Per-replica cgroup figures and image pull durations arrive with the container runtime.
/// </summary>
internal static class FleetMetrics
{
    public static readonly Gauge ReplicasDesired = Metrics.CreateGauge(
        "fleet_replicas_desired", "Replicas declared per service.", "service");

    public static readonly Gauge ReplicasRunning = Metrics.CreateGauge(
        "fleet_replicas_running", "Replicas running (or healthy) per service, as agents report.", "service");

    public static readonly Gauge ReplicasHealthy = Metrics.CreateGauge(
        "fleet_replicas_healthy", "Replicas passing their health check per service.", "service");

    public static readonly Gauge ClusterMembers = Metrics.CreateGauge(
        "fleet_cluster_members", "Members of the Akka cluster this node sees as up.");

    public static readonly Histogram ApiRequestDuration = Metrics.CreateHistogram(
        "fleet_api_request_duration_seconds", "Duration of fleet.v1 API calls.",
        new HistogramConfiguration { LabelNames = ["method", "code"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    /// <summary>Register refreshes the gauges before each scrape.</summary>
    public static void Register(ActorRegistry registry, ActorSystem system)
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            ClusterMembers.Set(Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up));
            try
            {
                var controller = await registry.GetAsync<ControllerProxy>(cancellationToken);
                var answer = await controller.Ask<ControllerProtocol.ServicesResponse>(
                    new ControllerProtocol.GetServices(), TimeSpan.FromSeconds(2), cancellationToken);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var summary in answer.Services)
                {
                    var name = summary.Entry.Name.Value;
                    seen.Add(name);
                    ReplicasDesired.WithLabels(name).Set(summary.Entry.Spec.Replicas);
                    ReplicasRunning.WithLabels(name).Set(summary.Running);
                    ReplicasHealthy.WithLabels(name).Set(summary.Healthy);
                }
                foreach (var gauge in new[] { ReplicasDesired, ReplicasRunning, ReplicasHealthy })
                {
                    foreach (var labels in gauge.GetAllLabelValues().Where(l => !seen.Contains(l[0])).ToList())
                    {
                        gauge.RemoveLabelled(labels);
                    }
                }
            }
            catch (AskTimeoutException)
            {
                // No controller reachable: keep the last figures; /healthz says why.
            }
        });
    }
}

/// <summary>ApiMetricsInterceptor times every unary API call.</summary>
internal sealed class ApiMetricsInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var code = "OK";
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException e)
        {
            code = e.StatusCode.ToString();
            throw;
        }
        finally
        {
            FleetMetrics.ApiRequestDuration.WithLabels(method, code).Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
