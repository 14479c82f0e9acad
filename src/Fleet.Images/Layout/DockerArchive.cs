using System.Formats.Tar;
using System.Text.Json.Serialization;
using Fleet.Core.Ids;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;

namespace Fleet.Images.Layout;

/// <summary>
/// DockerArchive imports and exports <c>docker save</c> archives: a tar holding
/// <c>manifest.json</c> (<c>[{Config, RepoTags, Layers}]</c>), the config JSON and one
/// uncompressed tar per layer. Importing never writes archive paths to disk: every file goes into
/// the content store by its hash, and the archive's names only look the hashes up. The image is
/// stored as a Docker schema-2 manifest.
/// </summary>
public static class DockerArchive
{
    internal sealed record Entry
    {
        [JsonPropertyName("Config")]
        public string Config { get; init; } = "";

        [JsonPropertyName("RepoTags")]
        public IReadOnlyList<string>? RepoTags { get; init; }

        [JsonPropertyName("Layers")]
        public IReadOnlyList<string> Layers { get; init; } = [];
    }

    /// <summary>ImportAsync loads every image of the archive and names it by its RepoTags (normalized); returns the manifest digests.</summary>
    public static async Task<IReadOnlyList<(IReadOnlyList<string> Names, Digest Manifest)>> ImportAsync(ContentStore store, string archive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var lease = store.AcquireLease();
        var files = new Dictionary<string, (Digest Digest, long Size, Compression Compression)>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        byte[]? manifestJson = null;
        await using (var stream = File.OpenRead(archive))
        await using (var reader = new TarReader(stream))
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var name = Clean(entry.Name);
                if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                {
                    // Newer docker save archives link legacy names to blobs/sha256/<hex>; only names are looked up, nothing is written.
                    var dir = entry.EntryType == TarEntryType.HardLink ? "" : Path.GetDirectoryName(name) ?? "";
                    links[name] = Clean(Path.GetFullPath(Path.Combine("/", dir, entry.LinkName))[1..]);
                    continue;
                }
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }
                if (name == "manifest.json")
                {
                    using var buffer = new MemoryStream();
                    await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                    manifestJson = buffer.ToArray();
                    continue;
                }
                var head = new byte[4];
                var headLength = await entry.DataStream.ReadAtLeastAsync(head, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                var digest = await store.PutAsync(new PrefixedStream(head.AsMemory(0, headLength), entry.DataStream), cancellationToken: cancellationToken).ConfigureAwait(false);
                lease.Add(digest);
                files[name] = (digest, entry.Length, LayerStreams.Sniff(head.AsSpan(0, headLength)));
            }
        }
        if (manifestJson is null)
        {
            throw new ManifestException($"{archive} has no manifest.json: not a docker save archive");
        }
        var entries = OciJson.Read<List<Entry>>(manifestJson, $"{archive}: manifest.json");
        var result = new List<(IReadOnlyList<string>, Digest)>();
        foreach (var image in entries)
        {
            (Digest Digest, long Size, Compression Compression) Find(string name) =>
                files.TryGetValue(Clean(name), out var found) || (links.TryGetValue(Clean(name), out var linked) && files.TryGetValue(linked, out found)) ? found : throw new ManifestException($"{archive}: manifest.json names `{name}`, which is not in the archive");
            var config = Find(image.Config);
            var manifest = new ImageManifest
            {
                MediaType = MediaTypes.DockerManifest,
                Config = Descriptor.Of(MediaTypes.DockerConfig, config.Digest, config.Size),
                Layers = [.. image.Layers.Select(Find).Select(l => Descriptor.Of(l.Compression == Compression.Gzip ? MediaTypes.DockerLayerGzip : l.Compression == Compression.Zstd ? MediaTypes.OciLayerZstd : MediaTypes.DockerLayer, l.Digest, l.Size))],
            };
            var bytes = OciJson.Write(manifest);
            var digest = await store.PutBytesAsync(bytes, cancellationToken: cancellationToken).ConfigureAwait(false);
            lease.Add(digest);
            var names = new List<string>();
            foreach (var tag in image.RepoTags ?? [])
            {
                var reference = ImageReference.Parse(tag).ToString();
                store.Images.Set(new ImageRecord { Name = reference, Digest = digest.ToString(), MediaType = MediaTypes.DockerManifest, Size = bytes.Length, Manifest = digest.ToString() });
                names.Add(reference);
            }
            result.Add((names, digest));
        }
        return result;
    }

    /// <summary>ExportAsync writes images (manifest digest + the tags to record) as a docker save archive; compressed layers are stored uncompressed.</summary>
    public static async Task ExportAsync(ContentStore store, IReadOnlyList<(Digest Manifest, IReadOnlyList<string> RepoTags)> images, string archive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(images);
        var entries = new List<Entry>();
        var written = new HashSet<string>(StringComparer.Ordinal);
        await using var output = File.Create(archive);
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: false);
        foreach (var (manifestDigest, tags) in images)
        {
            var (_, manifest) = await StoredImages.ResolveManifestAsync(store, manifestDigest, null, cancellationToken).ConfigureAwait(false);
            var configName = manifest.Config.ParsedDigest.Hex + ".json";
            if (written.Add(configName))
            {
                await WriteBlobAsync(writer, store, manifest.Config.ParsedDigest, configName, decompress: false, cancellationToken).ConfigureAwait(false);
            }
            var config = OciJson.Read<ImageConfig>(await store.ReadAllBytesAsync(manifest.Config.ParsedDigest, cancellationToken).ConfigureAwait(false), "config");
            var layers = new List<string>();
            for (var i = 0; i < manifest.Layers.Count; i++)
            {
                var name = Digest.Parse(config.RootFs.DiffIds[i]).Hex + "/layer.tar";
                if (written.Add(name))
                {
                    await WriteBlobAsync(writer, store, manifest.Layers[i].ParsedDigest, name, decompress: true, cancellationToken).ConfigureAwait(false);
                }
                layers.Add(name);
            }
            entries.Add(new Entry { Config = configName, RepoTags = [.. tags.Select(FamiliarName)], Layers = layers });
        }
        var json = OciJson.Write(entries);
        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(json), Mode = (UnixFileMode)0x1A4 }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteBlobAsync(TarWriter writer, ContentStore store, Digest digest, string name, bool decompress, CancellationToken cancellationToken)
    {
        if (!decompress)
        {
            await using var blob = store.OpenRead(digest);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = blob, Mode = (UnixFileMode)0x1A4 }, cancellationToken).ConfigureAwait(false);
            return;
        }
        // The tar header needs the size first: decompress into a temporary file beside the store's ingests.
        var temp = Path.Combine(store.Root, "ingest", "export-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var source = LayerStreams.Decompress(store.OpenRead(digest)))
            await using (var file = File.Create(temp))
            {
                await source.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
            await using var data = File.OpenRead(temp);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data, Mode = (UnixFileMode)0x1A4 }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>FamiliarName shortens docker.io/library/x:t to x:t, as docker save writes it.</summary>
    private static string FamiliarName(string name)
    {
        var reference = ImageReference.Parse(name);
        var repository = reference.Registry == ImageReference.DefaultRegistry
            ? (reference.Repository.StartsWith("library/", StringComparison.Ordinal) ? reference.Repository["library/".Length..] : reference.Repository)
            : reference.Name;
        return $"{repository}:{reference.Tag ?? ImageReference.DefaultTag}";
    }

    private static string Clean(string name) => name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;

    /// <summary>PrefixedStream replays bytes already read from a stream, then the rest of it.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.Length > 0)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }
            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.Length > 0)
            {
                return Read(buffer.Span);
            }
            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
