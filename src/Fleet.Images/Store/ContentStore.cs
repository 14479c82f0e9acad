namespace Fleet.Images.Store;

/// <summary>
/// ContentStore keeps blobs (layers, configs, manifests) by their sha256 digest, shared by every
/// image, the distribution client and the registry:
/// <code>
/// ROOT/blobs/sha256/&lt;hex&gt;     committed, verified, immutable content
/// ROOT/ingest/&lt;key&gt;           partial content being written (a download or an upload session)
/// ROOT/images.json               the image catalog: name → manifest (<see cref="Images"/>)
/// ROOT/snapshots/&lt;chain id&gt;    unpacked layers (<see cref="Snapshots"/>)
/// ROOT/leases/&lt;id&gt;.json        content protected from the collector by work in progress
/// </code>
/// Content only enters blobs/ through <see cref="BlobIngest.CommitAsync"/>, which checks the
/// digest and size first and then renames atomically, so a reader never sees a partial or
/// unverified blob. An ingest outlives its writer, so an interrupted download resumes where it
/// stopped.
/// </summary>
public sealed class ContentStore
{
    public ContentStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        BlobsDirectory = Path.Combine(Root, "blobs", Digest.Algorithm);
        IngestDirectory = Path.Combine(Root, "ingest");
        Directory.CreateDirectory(BlobsDirectory);
        Directory.CreateDirectory(IngestDirectory);
        LeasesDirectory = Path.Combine(Root, "leases");
        Directory.CreateDirectory(LeasesDirectory);
        GcLockPath = Path.Combine(Root, "gc.lock");
        Images = new ImageCatalog(this);
        Snapshots = new SnapshotStore(this);
    }

    /// <summary>Images is the catalog of named images, the roots of garbage collection.</summary>
    public ImageCatalog Images { get; }

    /// <summary>Snapshots holds unpacked layers.</summary>
    public SnapshotStore Snapshots { get; }

    internal string LeasesDirectory { get; }

    internal string GcLockPath { get; }

    /// <summary>
    /// AcquireLease protects content from garbage collection until disposed (or until
    /// <paramref name="expiry"/>, default 24 h, or this process's death).
    /// </summary>
    public Lease AcquireLease(TimeSpan? expiry = null) =>
        new(this, Guid.NewGuid().ToString("N"), expiry ?? TimeSpan.FromHours(24));

    public string Root { get; }

    internal string BlobsDirectory { get; }

    internal string IngestDirectory { get; }

    /// <summary>BlobPath is where a committed blob lives (it may not exist).</summary>
    public string BlobPath(Digest digest) => Path.Combine(BlobsDirectory, digest.Hex);

    public bool Contains(Digest digest) => File.Exists(BlobPath(digest));

    /// <summary>SizeOf returns the blob's length, or null when it is not stored.</summary>
    public long? SizeOf(Digest digest)
    {
        var info = new FileInfo(BlobPath(digest));
        return info.Exists ? info.Length : null;
    }

    /// <summary>OpenRead opens a committed blob for reading (seekable, so Range requests can be served).</summary>
    public Stream OpenRead(Digest digest)
    {
        try
        {
            return new FileStream(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            throw new BlobNotFoundException(digest);
        }
    }

    /// <summary>ReadAllBytesAsync reads a small blob (a manifest or config) whole.</summary>
    public async Task<byte[]> ReadAllBytesAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(BlobPath(digest), cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            throw new BlobNotFoundException(digest);
        }
    }

    /// <summary>
    /// OpenIngest opens (or resumes) the partial content named <paramref name="key"/>: the bytes
    /// already there are kept and hashed again, and <see cref="BlobIngest.Offset"/> says where
    /// writing continues. One writer per key at a time.
    /// </summary>
    public Task<BlobIngest> OpenIngestAsync(string key, CancellationToken cancellationToken = default) =>
        BlobIngest.OpenAsync(this, key, cancellationToken);

    /// <summary>PutAsync writes a whole stream and commits it, verified against what is expected.</summary>
    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, long? expectedSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (expected is { } known && Contains(known) && (expectedSize is null || SizeOf(known) == expectedSize))
        {
            return known;
        }
        await using var ingest = await OpenIngestAsync("put-" + Guid.NewGuid().ToString("N"), cancellationToken).ConfigureAwait(false);
        try
        {
            await ingest.CopyFromAsync(content, cancellationToken).ConfigureAwait(false);
            return await ingest.CommitAsync(expected, expectedSize, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ingest.Abort();
            throw;
        }
    }

    /// <summary>PutBytesAsync stores bytes held in memory (manifests, configs).</summary>
    public async Task<Digest> PutBytesAsync(ReadOnlyMemory<byte> content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        var actual = Digest.Of(content.Span);
        if (expected is { } e && e != actual)
        {
            throw new DigestMismatchException(e, actual);
        }
        if (!Contains(actual))
        {
            await using var ingest = await OpenIngestAsync("put-" + Guid.NewGuid().ToString("N"), cancellationToken).ConfigureAwait(false);
            await ingest.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            await ingest.CommitAsync(actual, content.Length, cancellationToken).ConfigureAwait(false);
        }
        return actual;
    }

    /// <summary>Delete removes a committed blob; false when it was not there.</summary>
    public bool Delete(Digest digest)
    {
        var path = BlobPath(digest);
        if (!File.Exists(path))
        {
            return false;
        }
        File.Delete(path);
        return true;
    }

    /// <summary>List enumerates every committed blob.</summary>
    public IEnumerable<Digest> List()
    {
        foreach (var path in Directory.EnumerateFiles(BlobsDirectory))
        {
            if (Digest.TryParse($"{Digest.Algorithm}:{Path.GetFileName(path)}", out var digest, out _))
            {
                yield return digest;
            }
        }
    }
}
