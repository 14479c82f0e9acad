namespace Fleet.Daemon;

/// <summary>ImageLog holds the log messages of the image verbs.</summary>
internal static partial class ImageLog
{
    [LoggerMessage(101, LogLevel.Information, "built {Reference} ({Digest})")]
    public static partial void Built(ILogger logger, string reference, string digest);

    [LoggerMessage(102, LogLevel.Information, "pulled {Reference} ({Digest})")]
    public static partial void Pulled(ILogger logger, string reference, string digest);

    [LoggerMessage(103, LogLevel.Information, "pushed {Reference} ({Digest})")]
    public static partial void Pushed(ILogger logger, string reference, string digest);

    [LoggerMessage(104, LogLevel.Information, "image gc: removed {Blobs} blobs and {Snapshots} snapshots, {Bytes} bytes freed")]
    public static partial void Collected(ILogger logger, int blobs, int snapshots, long bytes);

    [LoggerMessage(105, LogLevel.Warning, "image gc failed: {Reason}")]
    public static partial void CollectFailed(ILogger logger, string reason);
}
