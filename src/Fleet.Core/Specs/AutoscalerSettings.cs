namespace Fleet.Core.Specs;

/// <summary>
/// AutoscalerSettings are the cluster-wide knobs of the autoscaler (<c>autoscaler:</c> in
/// cluster.yaml): how often the controller evaluates, how often each node samples usage, and
/// over how long a window rates and averages are taken. The per-service targets, bounds and
/// stabilization window are in <see cref="AutoscalePolicy"/>.
/// </summary>
public sealed record AutoscalerSettings
{
    /// <summary>DefaultInterval is between evaluations: a third of the Kubernetes HPA's 15 s sync period.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>DefaultSampleInterval is between two usage samples of a node.</summary>
    public static readonly TimeSpan DefaultSampleInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// DefaultWindow is the span of samples an evaluation averages over: one evaluation interval,
    /// so each evaluation sees the usage since the last one (a longer window smooths more but
    /// makes a load step count fully only once it has filled the window).
    /// </summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(5);

    /// <summary>Interval is how often the controller evaluates every autoscaled service.</summary>
    public TimeSpan Interval { get; init; } = DefaultInterval;

    /// <summary>SampleInterval is how often every node sends the controller its usage sample.</summary>
    public TimeSpan SampleInterval { get; init; } = DefaultSampleInterval;

    /// <summary>Window is how far back an evaluation looks: cpu and request rates between its oldest and newest sample, memory and custom metrics from the newest.</summary>
    public TimeSpan Window { get; init; } = DefaultWindow;
}
