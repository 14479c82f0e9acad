using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Build;

/// <summary>LayerEntry is one file of a layer being made; <see cref="Source"/> is where a regular file's bytes are on the host.</summary>
public sealed record LayerEntry(string Path, TarEntryType Type, UnixFileMode Mode, int Uid, int Gid)
{
    public string? Source { get; init; }

    public byte[]? Data { get; init; }

    public string? LinkTarget { get; init; }
}

/// <summary>MadeLayer is a committed layer blob: its descriptor and its diff_id.</summary>
public sealed record MadeLayer(Descriptor Descriptor, Digest DiffId);

/// <summary>
/// LayerWriter writes entries as a reproducible tar (sorted by path, every mtime the epoch,
/// GNU headers with fixed times), gzips it and commits it to the store. The same entries always
/// give the same diff_id and the same blob digest.
/// </summary>
public static class LayerWriter
{
    /// <summary>Epoch is the one timestamp every built entry and config carries.</summary>
    public static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    /// <summary>WriteAsync makes the layer blob from <paramref name="entries"/>.</summary>
    public static async Task<MadeLayer> WriteAsync(ContentStore store, IEnumerable<LayerEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var temp = Path.Combine(store.Root, "ingest", "build-" + Guid.NewGuid().ToString("N") + ".tar.gz");
        try
        {
            Digest diffId;
            await using (var file = File.Create(temp))
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using (var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true))
                {
                    await using var hashing = new HashingStream(gzip, sha);
                    await using (var tar = new TarWriter(hashing, TarEntryFormat.Gnu, leaveOpen: true))
                    {
                        foreach (var entry in Normalize(entries))
                        {
                            var tarEntry = ToTar(entry);
                            await tar.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
                            if (tarEntry.DataStream is { } data)
                            {
                                await data.DisposeAsync().ConfigureAwait(false);
                            }
                        }
                    }
                }
                diffId = Digest.FromHash(sha.GetHashAndReset());
            }
            Digest digest;
            long size;
            await using (var read = File.OpenRead(temp))
            {
                size = read.Length;
                digest = await store.PutAsync(read, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            return new MadeLayer(Descriptor.Of(MediaTypes.OciLayerGzip, digest, size), diffId);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    // Sorted, deduplicated (the last writer of a path wins), with names in tar form.
    private static IEnumerable<LayerEntry> Normalize(IEnumerable<LayerEntry> entries)
    {
        var byPath = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var path = entry.Path.Trim('/');
            if (path.Length == 0)
            {
                continue;
            }
            byPath[path] = entry with { Path = path };
        }
        return byPath.Values.OrderBy(e => e.Path, StringComparer.Ordinal);
    }

    private static GnuTarEntry ToTar(LayerEntry entry)
    {
        var name = entry.Type == TarEntryType.Directory ? entry.Path + "/" : entry.Path;
        var tar = new GnuTarEntry(entry.Type, name)
        {
            Mode = entry.Mode,
            Uid = entry.Uid,
            Gid = entry.Gid,
            ModificationTime = Epoch,
            AccessTime = Epoch,
            ChangeTime = Epoch,
            UserName = "",
            GroupName = "",
        };
        if (entry.LinkTarget is not null)
        {
            tar.LinkName = entry.LinkTarget;
        }
        if (entry.Type == TarEntryType.RegularFile)
        {
            tar.DataStream = entry.Data is not null ? new MemoryStream(entry.Data) : File.OpenRead(entry.Source!);
        }
        return tar;
    }

    // Hashes what passes through it: the uncompressed tar, for the diff_id.
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            hash.AppendData(buffer, offset, count);
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
