using System.Buffers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;

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
    // Positioned writes (pwrite) through the handle, with no FileStream buffer: every write is
    // already large or final, and a buffer would only add a copy of every byte.
    private readonly SafeFileHandle _data;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;
    private bool _finished;

    private BlobIngest(ContentStore store, string key, string directory, SafeFileHandle data)
    {
        _store = store;
        Key = key;
        _directory = directory;
        _data = data;
    }

    /// <summary>Key names this ingest (e.g. the digest being downloaded or an upload session id).</summary>
    public string Key { get; }

    /// <summary>Offset is how many bytes are written so far; a resumed download asks for Range: bytes=Offset-.</summary>
    public long Offset => _length;

    internal static async Task<BlobIngest> OpenAsync(ContentStore store, string key, CancellationToken cancellationToken)
    {
        if (!KeyPattern().IsMatch(key))
        {
            throw new ArgumentException($"ingest key `{key}` must be 1–128 letters, digits, '_', '.' or '-'", nameof(key));
        }
        var directory = Path.Combine(store.IngestDirectory, key);
        Directory.CreateDirectory(directory);
        SafeFileHandle data;
        try
        {
            // FileShare.None: a second writer for the same key fails instead of interleaving bytes.
            data = File.OpenHandle(Path.Combine(directory, "data"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
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
    /// <remarks>
    /// The write is synchronous (into the page cache, which is what a thread-pool hand-off would
    /// wait for too); the method stays asynchronous so callers need not care.
    /// </remarks>
    public Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        cancellationToken.ThrowIfCancellationRequested();
        _hash.AppendData(bytes.Span);
        RandomAccess.Write(_data, bytes.Span, _length);
        _length += bytes.Length;
        return Task.CompletedTask;
    }

    /// <summary>
    /// WriteAsync appends a sequence of buffers (e.g. a request body's pipe segments) with one
    /// gathered write, hashing each segment where it lies instead of copying it into one buffer first.
    /// </summary>
    public Task WriteAsync(ReadOnlySequence<byte> bytes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (bytes.IsSingleSegment)
        {
            return WriteAsync(bytes.First, cancellationToken);
        }
        var segments = new List<ReadOnlyMemory<byte>>();
        foreach (var segment in bytes)
        {
            if (!segment.IsEmpty)
            {
                _hash.AppendData(segment.Span);
                segments.Add(segment);
            }
        }
        RandomAccess.Write(_data, segments, _length);
        _length += bytes.Length;
        return Task.CompletedTask;
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
        RandomAccess.SetLength(_data, 0);
        _length = 0;
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
        cancellationToken.ThrowIfCancellationRequested();
        var size = _length;
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
        // Durable before it is visible under its digest: fsync the data, then rename.
        await using (var flusher = new FileStream(_data, FileAccess.ReadWrite, bufferSize: 0))
        {
            flusher.Flush(flushToDisk: true);
        }
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

    public ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            _data.Dispose();
            _hash.Dispose();
            _finished = true;
        }
        return ValueTask.CompletedTask;
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
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await RandomAccess.ReadAsync(_data, buffer, _length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            _hash.AppendData(buffer, 0, read);
            _length += read;
        }
    }
}
