using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Fleet.Core.Ids;
using Fleet.Node;

namespace Fleet.Daemon.Logs;

/// <summary>LogEntry is one line a replica wrote: who, when, which stream, the text without its newline.</summary>
internal sealed record LogEntry(string Replica, DateTimeOffset Time, string Stream, string Text)
{
    /// <summary>
    /// EndOfHistory is not a line: a follower yields it between the lines already written and the
    /// new ones, so lines from several sources (nodes) can be merged by time before following.
    /// </summary>
    public static readonly LogEntry EndOfHistory = new("", DateTimeOffset.MinValue, "", "");

    public bool IsEndOfHistory => ReferenceEquals(this, EndOfHistory);
}

/// <summary>
/// ReplicaLogs reads the JSON-lines logs fleet-shim writes under
/// <see cref="NodePaths.ReplicaLog"/> (<c>{"time":…,"stream":…,"log":…}</c>, rotated by renaming
/// container.log → container.log.1 → … and starting a new container.log). A target is a replica
/// id, or a service name for all of its replicas on this node, interleaved by time.
/// </summary>
internal sealed class ReplicaLogs(NodePaths paths)
{
    /// <summary>PollInterval is how often a follower looks for new lines and for rotation.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Resolve names the replicas of <paramref name="target"/> on this node (empty when none).</summary>
    public IReadOnlyList<string> Resolve(string target)
    {
        if (ReplicaId.TryParse(target, out var id, out _) && Directory.Exists(paths.Replica(id)))
        {
            return [id.ToString()];
        }
        if (!ServiceName.TryParse(target, out var service, out _) || !Directory.Exists(paths.Replicas))
        {
            return [];
        }
        return [.. ReplicasOf(service)];
    }

    private IEnumerable<string> ReplicasOf(ServiceName service) =>
        Directory.EnumerateDirectories(paths.Replicas)
            .Select(Path.GetFileName)
            .Where(name => ReplicaId.TryParse(name!, out var id, out _) && id.Service == service)
            .Order(StringComparer.Ordinal)!;

    /// <summary>
    /// ReadAsync sends the last <paramref name="tail"/> lines of each replica (all when negative),
    /// merged by time; with <paramref name="follow"/> it then sends <see cref="LogEntry.EndOfHistory"/>
    /// and new lines as they are written (a service's replicas that appear later included) until cancelled.
    /// </summary>
    public async IAsyncEnumerable<LogEntry> ReadAsync(string target, IReadOnlyList<string> replicas, bool follow, int tail, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var history = new List<LogEntry>();
        var positions = new Dictionary<string, LogPosition>(StringComparer.Ordinal);
        foreach (var replica in replicas)
        {
            var (lines, position) = ReadHistory(replica, tail);
            history.AddRange(lines);
            positions[replica] = position;
        }
        foreach (var entry in history.OrderBy(e => e.Time))
        {
            yield return entry;
        }
        if (!follow)
        {
            yield break;
        }
        yield return LogEntry.EndOfHistory;

        var channel = Channel.CreateUnbounded<LogEntry>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The watcher below adds followers while this method may be collecting them: one lock.
        var followers = new List<Task>();
        void StartFollower(string replica, LogPosition position)
        {
            lock (followers)
            {
                followers.Add(Task.Run(() => FollowAsync(replica, position, channel.Writer, stop.Token), CancellationToken.None));
            }
        }
        foreach (var (replica, position) in positions)
        {
            StartFollower(replica, position);
        }
        var isService = !(replicas.Count == 1 && replicas[0] == target);
        var watcher = isService && ServiceName.TryParse(target, out var service, out _)
            ? Task.Run(async () =>
            {
                while (!stop.Token.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                    foreach (var replica in ReplicasOf(service).Where(r => !positions.ContainsKey(r)).ToList())
                    {
                        positions[replica] = new LogPosition(null, 0);
                        StartFollower(replica, positions[replica]);
                    }
                }
            }, CancellationToken.None)
            : Task.CompletedTask;
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var entry))
                {
                    yield return entry;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await watcher.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the watcher ends by cancellation
            }
            Task[] started;
            lock (followers)
            {
                started = [.. followers];
            }
            try
            {
                await Task.WhenAll(started).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the followers end by cancellation
            }
        }
    }

    /// <summary>LogPosition is where a follower resumes: the file it had open (by path) and the offset in it.</summary>
    private sealed record LogPosition(string? File, long Offset);

    private (List<LogEntry> Lines, LogPosition Position) ReadHistory(string replica, int tail)
    {
        var current = paths.ReplicaLog(ReplicaId.Parse(replica));
        var files = RotatedFiles(current).Append(current).Where(File.Exists).ToList();
        var lines = new List<LogEntry>();
        long offset = 0;
        foreach (var file in files)
        {
            using var stream = Open(file);
            if (stream is null)
            {
                continue;
            }
            var (parsed, end) = ReadComplete(replica, stream, 0);
            lines.AddRange(parsed);
            if (file == current)
            {
                offset = end;
            }
        }
        if (tail >= 0 && lines.Count > tail)
        {
            lines.RemoveRange(0, lines.Count - tail);
        }
        return (lines, new LogPosition(File.Exists(current) ? current : null, offset));
    }

    /// <summary>RotatedFiles lists container.log.N … container.log.1, oldest first.</summary>
    private static IEnumerable<string> RotatedFiles(string current)
    {
        var dir = Path.GetDirectoryName(current)!;
        if (!Directory.Exists(dir))
        {
            return [];
        }
        var prefix = Path.GetFileName(current) + ".";
        // The search pattern is only a first cut: "container.log.*" also matches "container.log".
        return Directory.EnumerateFiles(dir, prefix + "*")
            .Where(f => Path.GetFileName(f).Length > prefix.Length)
            .Select(f => (File: f, N: int.TryParse(Path.GetFileName(f)[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1))
            .Where(f => f.N > 0)
            .OrderByDescending(f => f.N)
            .Select(f => f.File)
            .ToList();
    }

    /// <summary>
    /// FollowAsync keeps one file open and reads what is appended. The shim rotates by renaming
    /// the file away and creating a new one: when the path no longer names the file held open
    /// (its /proc/self/fd link changed) the rest of the old file is read, then the new one from
    /// its start. A file truncated in place (one-file rotation) is read again from its start.
    /// </summary>
    private async Task FollowAsync(string replica, LogPosition start, ChannelWriter<LogEntry> writer, CancellationToken cancellationToken)
    {
        var path = paths.ReplicaLog(ReplicaId.Parse(replica));
        FileStream? stream = null;
        var offset = start.Offset;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                stream ??= Open(path);
                if (stream is null)
                {
                    await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (stream.Length < offset)
                {
                    offset = 0;
                }
                var (lines, end) = ReadComplete(replica, stream, offset);
                offset = end;
                foreach (var line in lines)
                {
                    await writer.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                }
                if (lines.Count == 0 && Rotated(stream, path))
                {
                    // Read what the old file received between the last read and the rename.
                    var (rest, _) = ReadComplete(replica, stream, offset);
                    foreach (var line in rest)
                    {
                        await writer.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                    }
                    await stream.DisposeAsync().ConfigureAwait(false);
                    stream = null;
                    offset = 0;
                    continue;
                }
                if (lines.Count == 0)
                {
                    await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static bool Rotated(FileStream stream, string path)
    {
        var link = $"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}";
        try
        {
            var target = new FileInfo(link).LinkTarget;
            return target is not null && target != path && File.Exists(path);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static FileStream? Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>ReadComplete parses the complete lines from <paramref name="offset"/>; a partial last line waits for its newline.</summary>
    private static (List<LogEntry> Lines, long End) ReadComplete(string replica, FileStream stream, long offset)
    {
        var entries = new List<LogEntry>();
        stream.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var pending = new MemoryStream();
        var end = offset;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var span = buffer.AsSpan(0, read);
            int newline;
            while ((newline = span.IndexOf((byte)'\n')) >= 0)
            {
                pending.Write(span[..newline]);
                end += pending.Length + 1;
                if (Parse(replica, pending.GetBuffer().AsSpan(0, (int)pending.Length)) is { } entry)
                {
                    entries.Add(entry);
                }
                pending.SetLength(0);
                span = span[(newline + 1)..];
            }
            pending.Write(span);
        }
        return (entries, end);
    }

    /// <summary>Parse reads one shim line; a line that is not the shim's JSON is passed on as text.</summary>
    internal static LogEntry? Parse(string replica, ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            return null;
        }
        try
        {
            var reader = new Utf8JsonReader(line);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            var time = root.TryGetProperty("time", out var t) && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : DateTimeOffset.UnixEpoch;
            var stream = root.TryGetProperty("stream", out var s) ? s.GetString() ?? "stdout" : "stdout";
            var text = root.TryGetProperty("log", out var l) ? l.GetString() ?? "" : "";
            return new LogEntry(replica, time, stream, text.EndsWith('\n') ? text[..^1] : text);
        }
        catch (JsonException)
        {
            return new LogEntry(replica, DateTimeOffset.UnixEpoch, "stdout", Encoding.UTF8.GetString(line));
        }
    }
}
