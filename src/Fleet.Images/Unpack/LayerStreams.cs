using System.IO.Compression;
using System.Security.Cryptography;
using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Unpack;

/// <summary>LayerStreams opens a layer blob as its uncompressed tar, sniffing gzip and zstd by magic bytes.</summary>
public static class LayerStreams
{
    /// <summary>Sniff tells the compression from the first bytes.</summary>
    public static Compression Sniff(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? Compression.Gzip
        : head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd ? Compression.Zstd
        : Compression.None;

    /// <summary>Decompress wraps a seekable or peekable stream in the right decompressor.</summary>
    public static Stream Decompress(Stream compressed)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        var buffered = compressed.CanSeek ? compressed : new BufferedStream(compressed, 1 << 16);
        Span<byte> head = stackalloc byte[4];
        var read = buffered.CanSeek ? buffered.ReadAtLeast(head, 4, throwOnEndOfStream: false) : 0;
        if (buffered.CanSeek)
        {
            buffered.Seek(-read, SeekOrigin.Current);
        }
        return Sniff(head[..read]) switch
        {
            Compression.Gzip => new GZipStream(buffered, CompressionMode.Decompress, leaveOpen: false),
            Compression.Zstd => new ZstdSharp.DecompressionStream(buffered, leaveOpen: false),
            _ => buffered,
        };
    }
}

/// <summary>
/// DiffStream hashes the uncompressed tar as it is read (the layer's diff_id) and stops it at a
/// size cap, so a decompression bomb ends with an error instead of a full disk.
/// </summary>
internal sealed class DiffStream(Stream inner, long limit, string layer) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long Length64 { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => Length64; set => throw new NotSupportedException(); }

    public Digest Digest => Digest.FromHash(_hash.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Account(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Account(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Drain reads to the end (tar padding after the end-of-archive marker counts toward the diff_id).</summary>
    public void Drain()
    {
        var buffer = new byte[1 << 16];
        while (Read(buffer) > 0)
        {
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Account(ReadOnlySpan<byte> bytes)
    {
        Length64 += bytes.Length;
        if (Length64 > limit)
        {
            throw new LayerUnpackException($"layer {layer}: uncompressed size exceeds the limit of {limit} bytes (a decompression bomb?)");
        }
        _hash.AppendData(bytes);
    }
}
