using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Scheduling.Autoscaling;

namespace Fleet.Cluster.Control;

/// <summary>
/// The autoscaler side of the controller. Every node sends a usage sample each
/// <c>autoscaler.sampleInterval</c> (<see cref="AutoscaleProtocol.UsageSample"/>: cgroup cpu and
/// memory of its replicas, its mesh's connection counts, the custom metric it scraped); the
/// controller keeps them in a <see cref="UsageWindow"/> (soft state, like observed state). Every
/// <c>autoscaler.interval</c> it measures each service with <c>autoscale:</c> over the window and
/// lets the pure <see cref="Autoscaler"/> decide; a change is journaled as
/// <see cref="ServiceEvents.ServiceAutoscaled"/> with its reason and planned at once.
/// <code>
/// nodes ──UsageSample──► UsageWindow ──Measure──► AutoscaleMetrics ──Autoscaler.Decide──► ServiceAutoscaled ──► plan
/// fleetctl scale ──► ServiceScaled + Autoscaler.AfterManualScale (continue from that count, within min/max)
/// </code>
/// Scale to zero is not decided here: a service at 0 replicas is left alone (its wake-up belongs
/// to the mesh's scale-from-zero path), and <c>idleAfter</c> is withheld from the decision, so the
/// autoscaler never takes a service below one replica.
/// </summary>
public sealed partial class ClusterController
{
    private const string AutoscaleTimer = "autoscale";

    private readonly Dictionary<ServiceName, AutoscalerState> _autoscalers = [];
    private readonly Dictionary<ServiceName, AutoscaleProtocol.AutoscaleStatus> _autoscaleStatus = [];
    private UsageWindow _usage = UsageWindow.Empty;

    /// <summary>UsageKept is how long samples are kept: the window plus one evaluation, so every evaluation sees a full window.</summary>
    private TimeSpan UsageKept => _settings.Autoscaler.Window + _settings.Autoscaler.Interval;

    /// <summary>ReceiveAutoscale registers the autoscaler's messages; it must come before the generic service command handler (it takes Scale first).</summary>
    private void ReceiveAutoscale()
    {
        Command<AutoscaleProtocol.UsageSample>(sample => _usage = _usage.Add(sample, _clock.GetUtcNow(), UsageKept));
        Command<AutoscaleProtocol.GetAutoscale>(q => Sender.Tell(new AutoscaleProtocol.AutoscaleResponse(AutoscaleStatuses(q.Service))));
        Command<EvaluateAutoscale>(_ => EvaluateAutoscaling());
        Command<ServiceCommands.Scale>(HandleManualScale);
    }

    /// <summary>StartAutoscaler starts the evaluation timer (after recovery).</summary>
    private void StartAutoscaler() =>
        Timers.StartPeriodicTimer(AutoscaleTimer, EvaluateAutoscale.Instance, _settings.Autoscaler.Interval);

    /// <summary>
    /// HandleManualScale: `fleetctl scale` of an autoscaled service sets the count the autoscaler
    /// continues from (DesiredState keeps it within min/max and says so in the reply).
    /// </summary>
    private void HandleManualScale(ServiceCommands.Scale scale)
    {
        if (_desired.Find(scale.Service) is { Spec.Autoscale: not null } entry && _desired.Decide(scale).Events.Count > 0)
        {
            _autoscalers[scale.Service] = Autoscaler.AfterManualScale(
                _autoscalers.GetValueOrDefault(scale.Service, AutoscalerState.Initial), entry.Spec.Replicas, scale.Replicas, _clock.GetUtcNow());
        }
        HandleCommand(scale);
    }

    /// <summary>EvaluateAutoscaling decides every autoscaled service once and journals the changes.</summary>
    private void EvaluateAutoscaling()
    {
        var now = _clock.GetUtcNow();
        _usage = _usage.Prune(now, UsageKept);
        foreach (var gone in _autoscalers.Keys.Concat(_autoscaleStatus.Keys).Where(s => _desired.Find(s)?.Spec.Autoscale is null).ToList())
        {
            _autoscalers.Remove(gone);
            _autoscaleStatus.Remove(gone);
        }
        if (_awaitingInventory.Count > 0 && now < _planAfter)
        {
            return; // replicas not yet reported would read as idle
        }
        var events = new List<IServiceEvent>();
        foreach (var entry in _desired.Services.Values)
        {
            if (entry.Spec.Autoscale is not { } policy)
            {
                continue;
            }
            var name = entry.Name;
            var reading = Measure(entry, now);
            var before = _autoscaleStatus.GetValueOrDefault(name);
            var (up, down) = (before?.ScaledUp ?? 0, before?.ScaledDown ?? 0);
            if (entry.Spec.Replicas == 0)
            {
                // Hook for scale to zero: a service at 0 is woken by the mesh's scale-from-zero path, not here.
                _autoscaleStatus[name] = new(name, policy.Min, policy.Max, 0, reading.Readings, $"{name} is at 0 replicas: left to scale-from-zero", now, up, down);
                continue;
            }
            var decision = Autoscaler.Decide(name, policy with { IdleAfter = null }, entry.Spec.Replicas, reading.Metrics,
                _autoscalers.GetValueOrDefault(name, AutoscalerState.Initial), now, _settings.AutoscalerLimits);
            _autoscalers[name] = decision.State;
            if (decision.Changed)
            {
                _log.Info("{0}", decision.Reason);
                events.Add(new ServiceEvents.ServiceAutoscaled(name, decision.Desired, decision.Current, decision.Reason, entry.Generation + 1, now));
                (up, down) = decision.Desired > decision.Current ? (up + 1, down) : (up, down + 1);
            }
            _autoscaleStatus[name] = new(name, policy.Min, policy.Max, decision.Desired, reading.Readings, decision.Reason, now, up, down);
        }
        if (events.Count > 0)
        {
            PersistEvents(events, ReconcileNow);
        }
    }

    private UsageReading Measure(ServiceEntry entry, DateTimeOffset now)
    {
        var active = _observed.ReplicasOf(entry.Name)
            .Where(r => r.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy)
            .Select(r => r.Id)
            .ToList();
        return _usage.Measure(entry.Spec, active, now, _settings.Autoscaler.Window);
    }

    /// <summary>AutoscaleStatuses answers describe and /metrics: the last evaluation, or a fresh measurement before the first.</summary>
    private List<AutoscaleProtocol.AutoscaleStatus> AutoscaleStatuses(ServiceName? only)
    {
        var now = _clock.GetUtcNow();
        return _desired.Services.Values
            .Where(e => e.Spec.Autoscale is not null && (only is null || e.Name == only))
            .Select(e => _autoscaleStatus.GetValueOrDefault(e.Name) is { } known
                ? known with { Replicas = e.Spec.Replicas }
                : new AutoscaleProtocol.AutoscaleStatus(e.Name, e.Spec.Autoscale!.Min, e.Spec.Autoscale.Max, e.Spec.Replicas,
                    Measure(e, now).Readings, null, null, 0, 0))
            .ToList();
    }

    private sealed class EvaluateAutoscale
    {
        public static readonly EvaluateAutoscale Instance = new();
    }
}
