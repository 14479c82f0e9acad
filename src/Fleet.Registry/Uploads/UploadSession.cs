using Fleet.Images.Store;

namespace Fleet.Registry.Uploads;

/// <summary>
/// UploadSession is one blob upload in progress: its bytes go into a content-store ingest named
/// <c>upload-&lt;id&gt;</c>, which stays open between the client's requests so each chunk is
/// hashed once, as it arrives. One request at a time works on a session (<see cref="UploadSessions.AcquireAsync"/>).
/// </summary>
public sealed class UploadSession
{
    private readonly ContentStore _store;
    private BlobIngest? _ingest;

    internal UploadSession(ContentStore store, string id, string repository, DateTimeOffset lastActivity)
    {
        _store = store;
        Id = id;
        Repository = repository;
        LastActivity = lastActivity;
    }

    /// <summary>Id is the session's UUID (32 hex digits), as sent in Docker-Upload-UUID.</summary>
    public string Id { get; }

    /// <summary>Repository is the repository the upload was started in.</summary>
    public string Repository { get; }

    /// <summary>LastActivity is when a request last finished on this session.</summary>
    public DateTimeOffset LastActivity { get; internal set; }

    internal SemaphoreSlim Gate { get; } = new(1, 1);

    internal bool Closed { get; set; }

    internal string IngestKey => "upload-" + Id;

    /// <summary>IngestAsync opens the session's ingest, resuming the bytes already written (e.g. after a restart).</summary>
    public async Task<BlobIngest> IngestAsync(CancellationToken cancellationToken)
    {
        _ingest ??= await _store.OpenIngestAsync(IngestKey, cancellationToken).ConfigureAwait(false);
        return _ingest;
    }

    /// <summary>OffsetAsync is how many bytes were received so far.</summary>
    public async Task<long> OffsetAsync(CancellationToken cancellationToken) =>
        (await IngestAsync(cancellationToken).ConfigureAwait(false)).Offset;

    /// <summary>CommitAsync verifies the bytes against <paramref name="digest"/> and moves them into the store.</summary>
    internal async Task CommitAsync(Digest digest, CancellationToken cancellationToken)
    {
        var ingest = await IngestAsync(cancellationToken).ConfigureAwait(false);
        _ingest = null;
        try
        {
            await ingest.CommitAsync(digest, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ingest.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Release closes the ingest but keeps its bytes, so another process (a restarted registry) can resume it.</summary>
    internal async Task ReleaseAsync()
    {
        if (_ingest is { } ingest)
        {
            _ingest = null;
            await ingest.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Discard throws the partial bytes away.</summary>
    internal void Discard()
    {
        if (_ingest is { } ingest)
        {
            ingest.Abort();
            _ingest = null;
            return;
        }
        // Never opened by this process: the ingest folder is ROOT/ingest/<key> (ContentStore's layout).
        var directory = Path.Combine(_store.Root, "ingest", IngestKey);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
