namespace Fleet.Scheduling.Model;

/// <summary>TieBreak orders nodes that rank equally.</summary>
public enum TieBreak
{
    /// <summary>Random uses a permutation drawn from the seed: stable for a seed, spreads load over equal nodes.</summary>
    Random,

    /// <summary>Name uses the node name, ordinal.</summary>
    Name,
}

/// <summary>
/// SchedulerOptions are the injected inputs that make a plan deterministic (clock and seed) and
/// the cluster-wide knobs. Give each evaluation a new <see cref="Seed"/> (e.g. its sequence
/// number) so new replica ids rarely collide; the same inputs and seed give the same plan.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>Now stamps the plan; nothing else reads a clock.</summary>
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Seed drives new replica ids and the random tie-break.</summary>
    public int Seed { get; init; }

    public TieBreak TieBreak { get; init; } = TieBreak.Random;

    /// <summary>MaxConcurrentMigrations caps drain moves in flight across the cluster (in flight ones included).</summary>
    public int MaxConcurrentMigrations { get; init; } = 8;

    /// <summary>
    /// RestartsOnNode says the node applies the restart policy in place (the agent's driver restarts
    /// a crashed container itself). A replica reported Exited or Failed is then one its node gave up
    /// on — an image that cannot be pulled, a command that cannot start: it keeps its slot with its
    /// reason until a new generation replaces it, instead of being replaced in a loop that fails the
    /// same way every evaluation. False (the default) replaces terminal replicas by restart policy.
    /// </summary>
    public bool RestartsOnNode { get; init; }
}
