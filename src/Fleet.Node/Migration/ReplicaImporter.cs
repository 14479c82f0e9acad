using System.Diagnostics;
using System.Security.Cryptography;
using Fleet.Core.State;

namespace Fleet.Node.Migration;

/// <summary>ImportResult is what the target knows once the source is fenced: the figures so far and when the source froze.</summary>
public sealed record ImportResult(MigrationTimings Timings, long FrozenAtTimestamp);

/// <summary>
/// ReplicaImporter is the target side of a freeze-and-copy migration. It pulls the source
/// replica's writable layer and volumes while the source runs (pre-copy rounds, until little
/// changes between two), freezes the source, pulls only what changed since (the final copy),
/// and fences the source — from then on the source never resumes and the replacement may start.
/// Files are checked by sha256 (the source's hash of what it sent against the target's hash of
/// what it wrote) and resumed from where a broken transfer stopped; an optional bandwidth cap
/// paces the writes. A failure before the fence thaws the source (best effort: it also thaws
/// by itself when its freeze lease runs out).
/// <code>
/// pre-copy ─► pre-copy … ─► freeze ─► final copy ─► fence ─► (the driver starts the replica)
/// </code>
/// </summary>
public sealed class ReplicaImporter
{
    /// <summary>FreezeLease is how long the source stays frozen without a fence before it thaws by itself.</summary>
    public static readonly TimeSpan FreezeLease = TimeSpan.FromSeconds(30);

    /// <summary>MaxPreCopyRounds bounds the pre-copy rounds; a round that copies at most <see cref="SettledBytes"/> ends them.</summary>
    public const int MaxPreCopyRounds = 3;

    /// <summary>SettledBytes: a pre-copy round that moved no more than this leaves the rest for the freeze.</summary>
    public const long SettledBytes = 4L << 20;

    private const int Attempts = 4;

    private readonly IMigrationTransport _transport;
    private readonly MigrationProtocol.MigrationSource _source;
    private readonly string _upperDir;
    private readonly string _volumesDir;
    private readonly Action<MigrationPhase, MigrationTimings> _report;
    private readonly Dictionary<string, MigrationEntry> _copied = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates the importer: the writable layer goes to <paramref name="upperDir"/>, volume NAME
    /// to <paramref name="volumesDir"/>/NAME; <paramref name="report"/> is told of each phase.
    /// </summary>
    public ReplicaImporter(IMigrationTransport transport, MigrationProtocol.MigrationSource source, string upperDir, string volumesDir, Action<MigrationPhase, MigrationTimings> report)
    {
        _transport = transport;
        _source = source;
        _upperDir = upperDir;
        _volumesDir = volumesDir;
        _report = report;
    }

    /// <summary>VolumeNames are the volumes the source sent (known after the first manifest).</summary>
    public IReadOnlyCollection<string> VolumeNames => _copied.Values.Select(e => e.Root).Where(r => r.StartsWith(MigrationEntry.VolumePrefix, StringComparison.Ordinal))
        .Select(r => r[MigrationEntry.VolumePrefix.Length..]).ToHashSet(StringComparer.Ordinal);

    /// <summary>RunAsync copies, freezes, copies the rest and fences; it returns once the replacement may start.</summary>
    public async Task<ImportResult> RunAsync(MigrationTimings prepared, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        Fresh(_upperDir);
        Fresh(_volumesDir);
        _report(MigrationPhase.Copying, prepared);
        var started = Stopwatch.GetTimestamp();
        long preCopied = 0;
        for (var round = 0; round < MaxPreCopyRounds; round++)
        {
            var moved = await SyncAsync(strict: false, cancellationToken).ConfigureAwait(false);
            preCopied += moved;
            if (moved <= SettledBytes)
            {
                break;
            }
        }
        var timings = prepared with { PreCopyBytes = preCopied, PreCopyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds };
        await _transport.FreezeAsync(_source.Node, _source.Replica, _source.Migration, FreezeLease, cancellationToken).ConfigureAwait(false);
        var frozenAt = Stopwatch.GetTimestamp();
        _report(MigrationPhase.Frozen, timings);
        try
        {
            var finalStarted = Stopwatch.GetTimestamp();
            var final = await SyncAsync(strict: true, cancellationToken).ConfigureAwait(false);
            timings = timings with { FinalCopyBytes = final, FinalCopyMs = Stopwatch.GetElapsedTime(finalStarted).TotalMilliseconds };
            await _transport.FenceAsync(_source.Node, _source.Replica, _source.Migration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await ThawQuietlyAsync(unfence: false).ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException)
        {
            await ThawQuietlyAsync(unfence: false).ConfigureAwait(false);
            throw;
        }
        return new ImportResult(timings with { FreezeMs = Stopwatch.GetElapsedTime(frozenAt).TotalMilliseconds }, frozenAt);
    }

    /// <summary>ThawQuietlyAsync asks the source to thaw (lifting the fence when <paramref name="unfence"/>), ignoring failures: its lease thaws it anyway.</summary>
    public async Task ThawQuietlyAsync(bool unfence)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _transport.ThawAsync(_source.Node, _source.Replica, _source.Migration, unfence, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unreachable source: it thaws by itself when the freeze lease ends (unless fenced).
        }
    }

    /// <summary>
    /// SyncAsync makes the local copy match the source's manifest: entries gone there are
    /// removed, changed ones copied again. Strict (the source is frozen) means every file must
    /// check out; otherwise a file that changed while it was read is left for the next round.
    /// Returns the bytes pulled.
    /// </summary>
    private async Task<long> SyncAsync(bool strict, CancellationToken cancellationToken)
    {
        var manifest = await _transport.ManifestAsync(_source.Node, _source.Replica, _source.Migration, cancellationToken).ConfigureAwait(false);
        var keys = manifest.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _copied.Values.Where(e => !keys.Contains(e.Key)).OrderByDescending(e => e.Path.Length).ToList())
        {
            TreeScan.Remove(LocalPath(gone));
            _copied.Remove(gone.Key);
        }
        long bytes = 0;
        foreach (var entry in manifest)
        {
            if (_copied.TryGetValue(entry.Key, out var had) && had == entry)
            {
                continue;
            }
            var local = LocalPath(entry);
            switch (entry.Kind)
            {
                case MigrationEntryKind.Dir:
                    TreeScan.MakeDir(local, entry);
                    break;
                case MigrationEntryKind.Symlink:
                    TreeScan.MakeSymlink(local, entry);
                    break;
                case MigrationEntryKind.Whiteout:
                    TreeScan.MakeWhiteout(local, entry);
                    break;
                case MigrationEntryKind.File:
                    var (pulled, intact) = await PullFileAsync(entry, local, strict, cancellationToken).ConfigureAwait(false);
                    bytes += pulled;
                    if (!intact)
                    {
                        _copied.Remove(entry.Key);
                        continue;
                    }
                    TreeScan.Finish(local, entry);
                    break;
            }
            _copied[entry.Key] = entry;
        }
        return bytes;
    }

    /// <summary>
    /// PullFileAsync copies one file, resuming from what is already on disk after a broken
    /// transfer, and checks it: the sha256 of what was written against the source's. Returns the
    /// bytes received and whether the copy is intact.
    /// </summary>
    private async Task<(long Bytes, bool Intact)> PullFileAsync(MigrationEntry entry, string local, bool strict, CancellationToken cancellationToken)
    {
        if (Directory.Exists(local))
        {
            Directory.Delete(local, recursive: true);
        }
        else if (File.Exists(local) && new FileInfo(local).LinkTarget is not null)
        {
            File.Delete(local);
        }
        long received = 0;
        var offset = 0L; // a new version of the file starts over; a broken transfer of this one resumes
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using var file = new FileStream(local, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
                file.SetLength(offset);
                await HashPrefixAsync(file, offset, hash, cancellationToken).ConfigureAwait(false);
                var sink = new MigrationCopyStream(file, hash, _source.BandwidthBytesPerSecond);
                var sourceHash = await _transport.PullAsync(_source.Node, _source.Replica, _source.Migration, entry.Root, entry.Path, offset, sink, cancellationToken).ConfigureAwait(false);
                received += sink.Written;
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                var ours = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (string.Equals(ours, sourceHash, StringComparison.OrdinalIgnoreCase))
                {
                    return (received, true);
                }
                if (!strict)
                {
                    return (received, false); // changed while read: the next round copies it again
                }
                if (attempt >= Attempts)
                {
                    throw new MigrationException($"{entry.Root}/{entry.Path}: sha256 {ours} does not match the source's {sourceHash}");
                }
                offset = 0;
            }
            catch (FileNotFoundException) when (!strict)
            {
                TreeScan.Remove(local); // removed since the manifest was read (the source runs): gone from the next one too
                return (received, false);
            }
            catch (Exception e) when (e is not (MigrationException or OperationCanceledException) && attempt < Attempts)
            {
                // A broken transfer: resume from what reached the disk.
                offset = File.Exists(local) ? new FileInfo(local).Length : 0;
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task HashPrefixAsync(FileStream file, long length, IncrementalHash hash, CancellationToken cancellationToken)
    {
        file.Position = 0;
        var buffer = new byte[1 << 16];
        var left = length;
        while (left > 0)
        {
            var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            hash.AppendData(buffer, 0, n);
            left -= n;
        }
        file.Position = length;
    }

    private string LocalPath(MigrationEntry entry)
    {
        var segments = entry.Path.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw new MigrationException($"refusing the path `{entry.Path}` of the source's manifest");
        }
        string root;
        if (entry.Root == MigrationEntry.UpperRoot)
        {
            root = _upperDir;
        }
        else if (entry.Root.StartsWith(MigrationEntry.VolumePrefix, StringComparison.Ordinal)
                 && entry.Root[MigrationEntry.VolumePrefix.Length..] is { Length: > 0 } name && !name.Contains('/', StringComparison.Ordinal) && name is not ("." or ".."))
        {
            root = Path.Combine(_volumesDir, name);
            Directory.CreateDirectory(root);
        }
        else
        {
            throw new MigrationException($"refusing the root `{entry.Root}` of the source's manifest");
        }
        return Path.Combine([root, .. segments]);
    }

    private static void Fresh(string dir)
    {
        TreeScan.Remove(dir);
        Directory.CreateDirectory(dir);
    }
}

/// <summary>
/// MigrationCopyStream is where pulled bytes go: the file, the running sha256, and the
/// bandwidth cap (writes wait so that bytes per second stay under it).
/// </summary>
internal sealed class MigrationCopyStream(Stream file, IncrementalHash hash, long? bytesPerSecond) : Stream
{
    private readonly long _started = Stopwatch.GetTimestamp();

    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        hash.AppendData(buffer.Span);
        Written += buffer.Length;
        if (bytesPerSecond is > 0 and var rate)
        {
            var due = TimeSpan.FromSeconds((double)Written / rate) - Stopwatch.GetElapsedTime(_started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
