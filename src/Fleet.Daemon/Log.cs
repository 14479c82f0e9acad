namespace Fleet.Daemon;

/// <summary>Log holds fleetd's source-generated log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "fleetd {Version} node {Node} ({Roles}) api {Address}:{ApiPort} http {Address}:{HttpPort} cluster {Address}:{ClusterPort} data {DataDir} driver {Driver}")]
    public static partial void Starting(ILogger logger, string version, string node, string roles, string address, int apiPort, int httpPort, int clusterPort, string dataDir, string driver);

    [LoggerMessage(2, LogLevel.Information, "fleetd ready")]
    public static partial void Ready(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "fleetd stopping: leaving the cluster; replicas keep running")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(4, LogLevel.Information, "fleetd stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(5, LogLevel.Information, "migration: {Detail}")]
    public static partial void MigrationMode(ILogger logger, string detail);
}
