namespace Fleet.Core.Specs;

/// <summary>
/// RebalanceSettings are cluster.yaml's <c>rebalance:</c> block: whether and how the controller
/// evens out replicas when a node joins, comes back or is uncordoned (and on
/// <c>fleetctl rebalance</c>, which ignores <see cref="Enabled"/> and <see cref="SettleDelay"/>).
/// <code>
/// rebalance: { enabled: true, maxConcurrent: 2, stateful: false, threshold: 2, loadGap: 20%, settleDelay: 15s }
/// </code>
/// </summary>
public sealed record RebalanceSettings
{
    /// <summary>DefaultMaxConcurrent is how many moves may be in flight at once, across the cluster.</summary>
    public const int DefaultMaxConcurrent = 2;

    /// <summary>
    /// MinThreshold is the smallest useful count threshold: with 1, moving a replica from a node
    /// holding one more than another only swaps which node holds more, and the next rebalance
    /// would move it back.
    /// </summary>
    public const int MinThreshold = 2;

    /// <summary>DefaultSettleDelay is how long a node must stay up and schedulable before replicas move to it.</summary>
    public static readonly TimeSpan DefaultSettleDelay = TimeSpan.FromSeconds(15);

    /// <summary>Enabled rebalances by itself after a node joins or is uncordoned; false leaves it to `fleetctl rebalance`.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>MaxConcurrent caps moves in flight (drain moves included); each is surge-first for stateless replicas.</summary>
    public int MaxConcurrent { get; init; } = DefaultMaxConcurrent;

    /// <summary>
    /// Stateful lets replicas of stateful services move too. Off by default: a stateful move stops
    /// the replica before its replacement starts (it never runs twice), so it costs a pause, and
    /// its volumes stay on the old node — worth it for a drain, not for evening out.
    /// </summary>
    public bool Stateful { get; init; }

    /// <summary>
    /// Threshold: a service's replica moves only when its node holds at least this many more
    /// replicas of it than the target node (≥ <see cref="MinThreshold"/>): the hysteresis that
    /// keeps a rebalance from ever undoing the last one.
    /// </summary>
    public int Threshold { get; init; } = MinThreshold;

    /// <summary>LoadGap: load moves start only when the busiest and idlest nodes' utilization differ by more than this (0.2 = 20 points).</summary>
    public double LoadGap { get; init; } = 0.2;

    /// <summary>
    /// SettleDelay: a node that joined, came back or was uncordoned must stay up and schedulable
    /// this long before a rebalance runs; every further change restarts it, so a flapping node
    /// causes no churn.
    /// </summary>
    public TimeSpan SettleDelay { get; init; } = DefaultSettleDelay;
}
