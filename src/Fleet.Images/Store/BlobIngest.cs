using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Fleet.Images.Store;

/// <summary>
/// BlobIngest is content being written into the <see cref="ContentStore"/>: appended, hashed as
/// it goes, and moved into place only by <see cref="CommitAsync"/> once its digest and size are
/// verified. Disposing without committing keeps the partial bytes for a later resume;
/// <see cref="Abort"/> throws them away.
/// </summary>
public sealed partial class BlobIngest : IAsyncDisposable
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    private readonly ContentStore _store;
    private readonly string _directory;
    private readonly FileStream _data;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _finished;

    private BlobIngest(ContentStore store, string key, string directory, FileStream data)
    {
        _store = store;
        Key = key;
        _directory = directory;
        _data = data;
    }

    /// <summary>Key names this ingest (e.g. the digest being downloaded or an upload session id).</summary>
    public string Key { get; }

    /// <summary>Offset is how many bytes are written so far; a resumed download asks for Range: bytes=Offset-.</summary>
    public long Offset => _data.Length;

    internal static async Task<BlobIngest> OpenAsync(ContentStore store, string key, CancellationToken cancellationToken)
    {
        if (!KeyPattern().IsMatch(key))
        {
            throw new ArgumentException($"ingest key `{key}` must be 1–128 letters, digits, '_', '.' or '-'", nameof(key));
        }
        var directory = Path.Combine(store.IngestDirectory, key);
        Directory.CreateDirectory(directory);
        FileStream data;
        try
        {
            // FileShare.None: a second writer for the same key fails instead of interleaving bytes.
            data = new FileStream(Path.Combine(directory, "data"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous);
        }
        catch (IOException e)
        {
            throw new ContentStoreException($"ingest `{key}` is being written by someone else", e);
        }
        var ingest = new BlobIngest(store, key, directory, data);
        await ingest.RehashExistingAsync(cancellationToken).ConfigureAwait(false);
        return ingest;
    }

    /// <summary>WriteAsync appends bytes.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _hash.AppendData(bytes.Span);
        await _data.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>CopyFromAsync appends a whole stream.</summary>
    public async Task CopyFromAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var buffer = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Truncate drops everything written (a server that ignored Range sends the whole blob again).</summary>
    public void Truncate()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _data.SetLength(0);
        _hash.GetHashAndReset();
    }

    /// <summary>CurrentDigest is the digest of the bytes written so far.</summary>
    public Digest CurrentDigest => Digest.FromHash(_hash.GetCurrentHash());

    /// <summary>
    /// CommitAsync verifies the content against <paramref name="expected"/> and
    /// <paramref name="expectedSize"/> when given and moves it into the store. On a mismatch the
    /// partial bytes are deleted (they can never become the expected blob) and the exception
    /// names both digests or sizes.
    /// </summary>
    public async Task<Digest> CommitAsync(Digest? expected = null, long? expectedSize = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        await _data.FlushAsync(cancellationToken).ConfigureAwait(false);
        var size = _data.Length;
        var actual = CurrentDigest;
        if (expectedSize is { } wantSize && wantSize != size)
        {
            Abort();
            throw new SizeMismatchException(expected, wantSize, size);
        }
        if (expected is { } want && want != actual)
        {
            Abort();
            throw new DigestMismatchException(want, actual);
        }
        _data.Flush(flushToDisk: true);
        await _data.DisposeAsync().ConfigureAwait(false);
        var target = _store.BlobPath(actual);
        try
        {
            File.Move(Path.Combine(_directory, "data"), target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            // Someone committed the same content first; content addressing makes theirs ours.
        }
        Finish();
        return actual;
    }

    /// <summary>Abort deletes the partial content.</summary>
    public void Abort()
    {
        if (_finished)
        {
            return;
        }
        _data.Dispose();
        Finish();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            await _data.DisposeAsync().ConfigureAwait(false);
            _hash.Dispose();
            _finished = true;
        }
    }

    private void Finish()
    {
        _finished = true;
        _hash.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private async Task RehashExistingAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        _data.Position = 0;
        int read;
        while ((read = await _data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            _hash.AppendData(buffer, 0, read);
        }
        _data.Position = _data.Length;
    }
}
