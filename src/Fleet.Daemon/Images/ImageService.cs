using System.Formats.Tar;
using System.Text.Json;
using Fleet.Build;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Node;

namespace Fleet.Daemon;

/// <summary>ImageSummary is one row of `fleetctl images`.</summary>
internal sealed record ImageSummary(string Reference, string Digest, long Size, DateTimeOffset? Created);

/// <summary>
/// ImageService is the node's side of the image verbs over its one <see cref="ContentStore"/>:
/// list and untag, build from an uploaded context, push to and pull from registries (plain HTTP
/// only for loopback registries, as <see cref="RegistryHosts"/> decides).
/// </summary>
internal sealed class ImageService(ContentStore store, NodePaths paths, ILogger<ImageService> logger)
{
    public ContentStore Store => store;

    /// <summary>Normalize turns user text (app:v1, busybox) into the catalog's name, or throws <see cref="ArgumentException"/>.</summary>
    public static ImageReference Normalize(string text) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference! : throw new ArgumentException(error);

    public IReadOnlyList<ImageSummary> List() =>
        [.. store.Images.List().Select(record =>
        {
            var (size, created) = Describe(record);
            return new ImageSummary(record.Name, record.Digest, size, created ?? record.Updated);
        })];

    /// <summary>Find looks an image up by its normalized name.</summary>
    public ImageRecord? Find(ImageReference reference) => store.Images.Get(reference.ToString());

    /// <summary>Remove untags <paramref name="reference"/>; the content is left to garbage collection.</summary>
    public bool Remove(ImageReference reference) => store.Images.Remove(reference.ToString());

    /// <summary>PullAsync pulls into the store and tags; its duration feeds the pull histogram.</summary>
    public async Task<Digest> PullAsync(ImageReference reference, IProgress<PullProgress> progress, CancellationToken cancellationToken)
    {
        using var client = new RegistryClient();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var pulled = await new ImagePuller(store, client).PullAsync(reference, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        FleetMetrics.ObserveImagePull(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return pulled.Digest;
    }

    /// <summary>PushAsync pushes the image tagged <paramref name="reference"/> to its registry.</summary>
    public async Task<Digest> PushAsync(ImageReference reference, IProgress<PullProgress> progress, CancellationToken cancellationToken)
    {
        var record = Find(reference) ?? throw new KeyNotFoundException($"no image {reference} in this node's store (build or pull it first)");
        using var client = new RegistryClient();
        return await new ImagePusher(store, client).PushAsync(record.TargetDigest, reference, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// BuildAsync unpacks the context tar into a private directory under the data dir, builds
    /// with <see cref="ImageBuilder"/> and tags the result; the directory is removed afterwards.
    /// </summary>
    public async Task<BuildResult> BuildAsync(Stream contextTar, ImageReference tag, string? fleetfile, IReadOnlyDictionary<string, string> buildArgs, bool noCache, CancellationToken cancellationToken)
    {
        var context = Path.Combine(paths.DataDir, "build", "context-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(context);
        try
        {
            await TarFile.ExtractToDirectoryAsync(contextTar, context, overwriteFiles: true, cancellationToken).ConfigureAwait(false);
            string? text = null;
            if (!string.IsNullOrEmpty(fleetfile) && fleetfile != "Fleetfile")
            {
                var path = Path.GetFullPath(Path.Combine(context, fleetfile));
                if (!path.StartsWith(context + "/", StringComparison.Ordinal) || !File.Exists(path))
                {
                    throw new BuildException($"{fleetfile}: no such file in the build context");
                }
                text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
            }
            else if (!File.Exists(Path.Combine(context, "Fleetfile")))
            {
                throw new BuildException("the build context has no Fleetfile");
            }
            var builder = new ImageBuilder(store, NodeServices.BuildOptions(paths));
            var result = await builder.BuildAsync(new BuildRequest
            {
                ContextDir = context,
                FleetfileText = text,
                BuildArgs = buildArgs,
                Tag = tag.ToString(),
                NoCache = noCache,
            }, cancellationToken).ConfigureAwait(false);
            ImageLog.Built(logger, tag.ToString(), result.ManifestDigest.ToString());
            return result;
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    /// <summary>Describe adds up manifest, config and layers as stored, and reads the config's created time.</summary>
    private (long Size, DateTimeOffset? Created) Describe(ImageRecord record)
    {
        try
        {
            var digest = Digest.Parse(record.Manifest ?? record.Digest);
            if (!store.Contains(digest))
            {
                return (record.Size, null);
            }
            var bytes = File.ReadAllBytes(store.BlobPath(digest));
            if (!MediaTypes.IsManifest(OciJson.Kind(bytes)))
            {
                return (bytes.Length, null);
            }
            var manifest = OciJson.Read<ImageManifest>(bytes, $"manifest {digest}");
            var size = bytes.Length + manifest.Config.Size + manifest.Layers.Sum(l => l.Size);
            DateTimeOffset? created = null;
            if (store.Contains(manifest.Config.ParsedDigest))
            {
                using var config = JsonDocument.Parse(File.ReadAllBytes(store.BlobPath(manifest.Config.ParsedDigest)));
                if (config.RootElement.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.String && c.TryGetDateTimeOffset(out var at))
                {
                    created = at;
                }
            }
            return (size, created);
        }
        catch (Exception e) when (e is IOException or JsonException or ManifestException or FormatException or ArgumentException)
        {
            return (record.Size, null);
        }
    }
}
