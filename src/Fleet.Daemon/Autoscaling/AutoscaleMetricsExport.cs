using Akka.Actor;
using Fleet.Core.State;
using Prometheus;

namespace Fleet.Daemon.Autoscaling;

/// <summary>
/// AutoscaleMetricsExport puts the autoscaler's view into /metrics, read from the controller just
/// before each scrape (as the replica counts are): per service and target the value measured
/// and the target, the min/max bounds, and the decisions taken by direction. Decisions are
/// counted by the serving controller since it started; after a fail-over the counter holds its
/// last value until the new controller's count passes it (a counter never goes down).
/// </summary>
internal static class AutoscaleMetricsExport
{
    public static readonly Counter Decisions = Metrics.CreateCounter(
        "fleet_autoscale_decisions_total", "Replica count changes decided by the autoscaler, per service and direction (up, down).", "service", "direction");

    public static readonly Gauge MetricValue = Metrics.CreateGauge(
        "fleet_autoscale_metric_value", "What the autoscaler last measured per service and target (cpu and memory in % of the request, rps per replica, or the custom metric).", "service", "metric");

    public static readonly Gauge MetricTarget = Metrics.CreateGauge(
        "fleet_autoscale_metric_target", "The autoscale target per service and metric, in the unit of fleet_autoscale_metric_value.", "service", "metric");

    public static readonly Gauge MinReplicas = Metrics.CreateGauge(
        "fleet_autoscale_min_replicas", "autoscale.min per service.", "service");

    public static readonly Gauge MaxReplicas = Metrics.CreateGauge(
        "fleet_autoscale_max_replicas", "autoscale.max per service.", "service");

    /// <summary>CollectAsync refreshes the autoscale series from the controller; services no longer autoscaled disappear.</summary>
    public static async Task CollectAsync(ICanTell controller, CancellationToken cancellationToken)
    {
        var answer = await controller.Ask<AutoscaleProtocol.AutoscaleResponse>(new AutoscaleProtocol.GetAutoscale(null), TimeSpan.FromSeconds(2), cancellationToken);
        var services = new HashSet<string>(StringComparer.Ordinal);
        var series = new HashSet<(string, string)>();
        foreach (var status in answer.Services)
        {
            var service = status.Service.Value;
            services.Add(service);
            MinReplicas.WithLabels(service).Set(status.Min);
            MaxReplicas.WithLabels(service).Set(status.Max);
            Decisions.WithLabels(service, "up").IncTo(status.ScaledUp);
            Decisions.WithLabels(service, "down").IncTo(status.ScaledDown);
            foreach (var reading in status.Readings)
            {
                series.Add((service, reading.Metric));
                MetricTarget.WithLabels(service, reading.Metric).Set(reading.Target);
                if (reading.Value is { } value)
                {
                    MetricValue.WithLabels(service, reading.Metric).Set(value);
                }
                else
                {
                    MetricValue.RemoveLabelled(service, reading.Metric);
                }
            }
        }
        foreach (var gauge in new[] { MetricValue, MetricTarget })
        {
            foreach (var labels in gauge.GetAllLabelValues().Where(l => !series.Contains((l[0], l[1]))).ToList())
            {
                gauge.RemoveLabelled(labels);
            }
        }
        foreach (var gauge in new[] { MinReplicas, MaxReplicas })
        {
            foreach (var labels in gauge.GetAllLabelValues().Where(l => !services.Contains(l[0])).ToList())
            {
                gauge.RemoveLabelled(labels);
            }
        }
    }
}
