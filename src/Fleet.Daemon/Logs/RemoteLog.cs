namespace Fleet.Daemon.Logs;

/// <summary>RemoteLog is fleetd's log of verbs passed on to other nodes.</summary>
internal static partial class RemoteLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "logs of {Target}: node {Node} did not answer ({Reason}); its replicas' lines are left out")]
    public static partial void LogsUnavailable(ILogger logger, string target, string node, string reason);
}
