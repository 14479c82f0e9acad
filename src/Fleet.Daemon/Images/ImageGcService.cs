using Fleet.Node.Replicas;

namespace Fleet.Daemon;

/// <summary>ImageGcOptions say how often fleetd collects its image store.</summary>
internal sealed record ImageGcOptions
{
    /// <summary>Interval between collections (the first one runs one interval after start, away from start-up work).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// ImageGcService runs <see cref="NodeImageCollector"/> on a schedule: blobs and snapshots no
/// tag, registry repository or replica of this node refers to are removed (blobs younger than
/// the store's grace period stay, so a push or pull in progress is never cut).
/// </summary>
internal sealed partial class ImageGcService(NodeImageCollector collector, ImageGcOptions options, TimeProvider clock, ILogger<ImageGcService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // The collection is file work under the store's GC lock: off the caller's thread.
                await Task.Run(CollectOnce, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void CollectOnce()
    {
        try
        {
            var report = collector.Collect();
            if (report.RemovedBlobs.Count > 0 || report.RemovedSnapshots.Count > 0)
            {
                ImageLog.Collected(logger, report.RemovedBlobs.Count, report.RemovedSnapshots.Count, report.BytesFreed);
            }
        }
#pragma warning disable CA1031 // Whatever one collection meets (a corrupt record, a busy file), it must not stop fleetd.
        catch (Exception e)
#pragma warning restore CA1031
        {
            // The next round tries again; a failed collection never stops fleetd.
            ImageLog.CollectFailed(logger, e.Message);
        }
    }
}
