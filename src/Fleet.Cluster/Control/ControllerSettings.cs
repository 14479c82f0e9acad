namespace Fleet.Cluster.Control;

/// <summary>ControllerSettings tune the cluster controller; the defaults suit one node and a test alike.</summary>
public sealed record ControllerSettings
{
    /// <summary>SnapshotEvery saves a snapshot of the desired state after that many events.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>ReconcileInterval is how often desired and observed state are compared without a trigger.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>PendingTimeout is how long a started replica may go unreported before it is asked for again.</summary>
    public TimeSpan PendingTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>NodeTimeout forgets a node whose agent has not reported for that long.</summary>
    public TimeSpan NodeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>InventoryGrace is how long a starting controller waits for every agent's inventory before planning anyway.</summary>
    public TimeSpan InventoryGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// FenceMargin is how long a stateful replica of a node that turned Down still waits before it
    /// is started elsewhere (stateless ones were replaced when the node turned unreachable). The
    /// cut-off node downs itself at about the same moment as the majority downs it (both run the
    /// split brain resolver's 5 s stable-after from when they saw each other unreachable, ±1–2 s),
    /// then ends its ActorSystem and host (a few seconds on a loaded machine) and fences: stops its
    /// stateful replicas with a 3 s grace, then SIGKILL. 15 s covers that with room to spare, so
    /// the old copy is gone before the new one starts. Zero: replace at Down (no fencing wait).
    /// </summary>
    public TimeSpan FenceMargin { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Seed, when set, makes replica ids and the scheduler's tie-breaks deterministic (tests).</summary>
    public int? Seed { get; init; }

    /// <summary>
    /// ReconcileCompleted is told how long each reconcile pass took (planning and telling the
    /// agents), e.g. fleetd's reconcile-duration histogram; called on the controller's thread, so
    /// it must be quick. Null: nothing is measured.
    /// </summary>
    public Action<TimeSpan>? ReconcileCompleted { get; init; }

    /// <summary>Rebalance is cluster.yaml's `rebalance:` block: when and how replicas are evened out after a node joins or is uncordoned.</summary>
    public Fleet.Core.Specs.RebalanceSettings Rebalance { get; init; } = new();
    /// <summary>Autoscaler is how often services with `autoscale:` are evaluated and over how long a window (cluster.yaml `autoscaler:`).</summary>
    public Fleet.Core.Specs.AutoscalerSettings Autoscaler { get; init; } = new();

    /// <summary>AutoscalerLimits are the autoscaler's tolerance and rate limits (the Kubernetes HPA's defaults).</summary>
    public Fleet.Scheduling.Autoscaling.AutoscalerOptions AutoscalerLimits { get; init; } = new();
    /// <summary>MigrationFinished is told of every migration that completed or rolled back (fleetd's migration metrics); called on the controller's thread.</summary>
    public Action<Fleet.Core.State.MigrationRecord>? MigrationFinished { get; init; }

    /// <summary>Clock is the controller's time source (deadlines, event times, the scheduler's Now).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
