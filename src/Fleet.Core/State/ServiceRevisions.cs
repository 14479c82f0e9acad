using System.Collections.Immutable;
using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>RolloutOutcome is how the rollout of one revision ended (or that it has not yet).</summary>
public enum RolloutOutcome
{
    /// <summary>Progressing: replicas are being rolled over to this revision.</summary>
    Progressing,

    /// <summary>Complete: every replica ran this revision and was available.</summary>
    Complete,

    /// <summary>Failed: its new replicas failed, or it made no progress within the progress deadline.</summary>
    Failed,

    /// <summary>Superseded: a newer revision was declared before this one's rollout ended.</summary>
    Superseded,
}

/// <summary>
/// ServiceRevision is one spec generation of a service as `fleetctl rollout history` shows it:
/// the generation at which the spec changed in more than its replica count, the spec, when,
/// what changed from the revision before, and how its rollout went.
/// </summary>
public sealed record ServiceRevision(long Generation, ServiceSpec Spec, DateTimeOffset At, string Change)
{
    public RolloutOutcome Outcome { get; init; } = RolloutOutcome.Progressing;

    /// <summary>Reason says why the rollout failed.</summary>
    public string? Reason { get; init; }

    /// <summary>RolledBackTo is the generation whose template this revision restored (a rollback), else null.</summary>
    public long? RolledBackTo { get; init; }
}

/// <summary>
/// ServiceRevisions keeps each service's last <see cref="Limit"/> spec generations
/// (<see cref="DesiredState.Revisions"/>), as Kubernetes keeps revisionHistoryLimit old
/// ReplicaSets, and says which replicas run the current spec's template: a replica of an older
/// generation whose template equals the current one (after a rollback) is current, not rolled again.
/// Pure: folded from the journal's events like the rest of <see cref="DesiredState"/>.
/// </summary>
public static class ServiceRevisions
{
    /// <summary>Limit is how many revisions are kept per service (Kubernetes' revisionHistoryLimit default).</summary>
    public const int Limit = 10;

    /// <summary>
    /// SameTemplate is true when two specs run the same containers: they may differ in the replica
    /// count and in the update and autoscale policies, which are the service's, not its replicas'.
    /// </summary>
    public static bool SameTemplate(ServiceSpec a, ServiceSpec b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return ServiceSpecEquality.Equivalent(a, b with { Replicas = a.Replicas, Update = a.Update, Autoscale = a.Autoscale });
    }

    /// <summary>WithTemplateOf is <paramref name="template"/>'s containers with <paramref name="current"/>'s replica count, update and autoscale policies: what a rollback applies.</summary>
    public static ServiceSpec WithTemplateOf(ServiceSpec current, ServiceSpec template)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(template);
        return template with { Replicas = current.Replicas, Update = current.Update, Autoscale = current.Autoscale };
    }

    /// <summary>Of returns a service's revisions, oldest first (one seeded from its entry when none were recorded, e.g. a snapshot older than the history).</summary>
    public static IReadOnlyList<ServiceRevision> Of(DesiredState state, ServiceName service)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Revisions.TryGetValue(service.Value, out var revisions))
        {
            return revisions;
        }
        return state.Find(service) is { } entry ? [Seed(entry)] : [];
    }

    /// <summary>
    /// EffectiveGeneration is the generation a replica started at <paramref name="generation"/>
    /// counts as for a rollout: the service's rollout generation when the revision in effect then
    /// has the current template (it runs the current spec), else its own.
    /// </summary>
    public static long EffectiveGeneration(DesiredState state, ServiceName service, long generation)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Find(service) is not { } entry || generation >= entry.RolloutGeneration
            || !state.Revisions.TryGetValue(service.Value, out var revisions))
        {
            return generation;
        }
        var inEffect = revisions.LastOrDefault(r => r.Generation <= generation);
        return inEffect is not null && SameTemplate(inEffect.Spec, entry.Spec) ? entry.RolloutGeneration : generation;
    }

    /// <summary>
    /// Fold records what <paramref name="e"/> does to the revisions: a new spec generation
    /// (<paramref name="before"/> and <paramref name="after"/> are the service's entry around the
    /// event) adds a revision and supersedes one still progressing; a rollout's end sets its
    /// outcome; a delete forgets them.
    /// </summary>
    public static ImmutableSortedDictionary<string, ImmutableList<ServiceRevision>> Fold(
        ImmutableSortedDictionary<string, ImmutableList<ServiceRevision>> all, ServiceEntry? before, ServiceEntry? after, IClusterEvent e)
    {
        ArgumentNullException.ThrowIfNull(all);
        if (e is not IServiceEvent serviceEvent)
        {
            return all;
        }
        var name = serviceEvent.Service.Value;
        if (after is null)
        {
            return all.Remove(name);
        }
        var list = all.GetValueOrDefault(name) ?? (before is null ? [] : [Seed(before)]);
        switch (e)
        {
            case RolloutEvents.ServiceRolloutComplete complete:
                list = Mark(list, complete.Generation, RolloutOutcome.Complete, null);
                break;
            case RolloutEvents.ServiceRolloutFailed failed:
                list = Mark(list, failed.Generation, RolloutOutcome.Failed, failed.Reason);
                break;
            case ServiceEvents.ServiceApplied or RolloutEvents.ServiceRolledBack when before is null || after.RolloutGeneration != before.RolloutGeneration:
                var back = e as RolloutEvents.ServiceRolledBack;
                var change = back is null ? Change(before?.Spec, after.Spec) : $"rollback to generation {Num(back.ToGeneration)}: {back.Reason}";
                list = list.Select(r => r.Outcome == RolloutOutcome.Progressing ? r with { Outcome = RolloutOutcome.Superseded } : r)
                    .ToImmutableList()
                    .Add(new ServiceRevision(after.RolloutGeneration, after.Spec, e.At, change) { RolledBackTo = back?.ToGeneration });
                if (list.Count > Limit)
                {
                    list = list.RemoveRange(0, list.Count - Limit);
                }
                break;
        }
        return all.SetItem(name, list);
    }

    /// <summary>Change summarizes what <paramref name="after"/> changes from <paramref name="before"/>: "image web:1 → web:2; env GREETING changed".</summary>
    public static string Change(ServiceSpec? before, ServiceSpec after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (before is null)
        {
            return $"created: image {after.Image}";
        }
        var changes = new List<string>();
        if (before.Image != after.Image)
        {
            changes.Add($"image {before.Image} → {after.Image}");
        }
        var added = after.Env.Keys.Where(k => !before.Env.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var removed = before.Env.Keys.Where(k => !after.Env.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var changed = after.Env.Where(kv => before.Env.TryGetValue(kv.Key, out var old) && old != kv.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        if (added.Count + removed.Count + changed.Count > 0)
        {
            var parts = added.Select(k => "+" + k).Concat(removed.Select(k => "-" + k)).Concat(changed.Select(k => k + " changed"));
            changes.Add($"env {string.Join(", ", parts)}");
        }
        // Each field is compared alone by putting it into the old spec: lists and maps by value.
        AddIf(changes, Differs(before, before with { Command = after.Command }), "command");
        AddIf(changes, Differs(before, before with { Resources = after.Resources }), "resources");
        AddIf(changes, Differs(before, before with { Ports = after.Ports }), "ports");
        AddIf(changes, Differs(before, before with { Health = after.Health }), "health check");
        AddIf(changes, Differs(before, before with { Restart = after.Restart }), "restart policy");
        AddIf(changes, Differs(before, before with { Volumes = after.Volumes }), "volumes");
        AddIf(changes, Differs(before, before with { Placement = after.Placement }), "placement");
        AddIf(changes, Differs(before, before with { Stateful = after.Stateful }), "stateful");
        AddIf(changes, Differs(before, before with { StopSignal = after.StopSignal, StopGracePeriod = after.StopGracePeriod }), "stop signal or grace period");
        AddIf(changes, Differs(before, before with { Init = after.Init }), "init");
        AddIf(changes, Differs(before, before with { Update = after.Update }), "update policy");
        AddIf(changes, Differs(before, before with { Autoscale = after.Autoscale }), "autoscale policy");
        return changes.Count == 0 ? "no change to the template" : string.Join("; ", changes);
    }

    private static bool Differs(ServiceSpec a, ServiceSpec b) => !ServiceSpecEquality.Equivalent(a, b);

    private static void AddIf(List<string> changes, bool condition, string what)
    {
        if (condition)
        {
            changes.Add(what);
        }
    }

    private static ImmutableList<ServiceRevision> Mark(ImmutableList<ServiceRevision> list, long generation, RolloutOutcome outcome, string? reason)
    {
        var index = list.FindLastIndex(r => r.Generation == generation);
        return index < 0 ? list : list.SetItem(index, list[index] with { Outcome = outcome, Reason = reason });
    }

    private static ServiceRevision Seed(ServiceEntry entry) =>
        new(entry.RolloutGeneration, entry.Spec, entry.UpdatedAt, "(recorded before the revision history)") { Outcome = RolloutOutcome.Complete };

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
