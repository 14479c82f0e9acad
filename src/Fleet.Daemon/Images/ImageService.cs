using System.Formats.Tar;
using System.Text.Json;
using Fleet.Build;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Node;

namespace Fleet.Daemon;

/// <summary>ImageSummary is one row of `fleetctl images`.</summary>
internal sealed record ImageSummary(string Reference, string Digest, long Size, DateTimeOffset? Created);

/// <summary>
/// ImageService is the node's side of the image verbs over its one <see cref="ContentStore"/>:
/// list and untag, build from an uploaded context, push to and pull from registries with the
/// cluster file's <paramref name="registrySettings"/> — the same the replica driver pulls with
/// (plain HTTP only for loopback registries and those named insecure, as
/// <see cref="RegistryHosts"/> decides). The node's registry (served under /v2/ on the http port,
/// named <paramref name="registryHost"/>) shares the store: its tags are listed as
/// <c>HOST/REPOSITORY:TAG</c>.
/// </summary>
internal sealed class ImageService(ContentStore store, NodePaths paths, string registryHost, RegistrySettings registrySettings, ILogger<ImageService> logger)
{
    private readonly RegistryTags _registryTags = new(store);

    public ContentStore Store => store;

    /// <summary>RegistryHost is how this node's registry is named in references (host:port).</summary>
    public string RegistryHost => registryHost;

    /// <summary>Normalize turns user text (app:v1, busybox) into the catalog's name, or throws <see cref="ArgumentException"/>.</summary>
    public static ImageReference Normalize(string text) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference! : throw new ArgumentException(error);

    /// <summary>List is the store's named images and the registry's tags, by reference.</summary>
    public IReadOnlyList<ImageSummary> List()
    {
        var images = new Dictionary<string, ImageSummary>(StringComparer.Ordinal);
        foreach (var record in store.Images.List())
        {
            var (size, created) = Describe(record.Manifest ?? record.Digest, record.Size);
            images[record.Name] = new ImageSummary(record.Name, record.Digest, size, created ?? record.Updated);
        }
        foreach (var tag in _registryTags.List())
        {
            var name = $"{registryHost}/{tag.Repository}:{tag.Tag}";
            if (!images.ContainsKey(name))
            {
                var (size, created) = Describe(tag.Digest.ToString(), store.SizeOf(tag.Digest) ?? 0);
                images[name] = new ImageSummary(name, tag.Digest.ToString(), size, created);
            }
        }
        return [.. images.Values.OrderBy(i => i.Reference, StringComparer.Ordinal)];
    }

    /// <summary>Find looks an image up by its normalized name in the store's catalog.</summary>
    public ImageRecord? Find(ImageReference reference) => store.Images.Get(reference.ToString());

    /// <summary>InRegistry finds the digest of <paramref name="reference"/> when it names a tag of this node's registry.</summary>
    public Digest? InRegistry(ImageReference reference) =>
        reference.Registry == registryHost && reference.Tag is { } tag
            ? _registryTags.List().FirstOrDefault(t => t.Repository == reference.Repository && t.Tag == tag)?.Digest
            : null;

    /// <summary>
    /// RemoveAsync drops <paramref name="reference"/> from the catalog and, when it names this
    /// node's registry, deletes the registry's tag through its HTTP API; content is left to
    /// garbage collection. Returns the digest it pointed at, or null when it named nothing.
    /// </summary>
    public async Task<Digest?> RemoveAsync(ImageReference reference, CancellationToken cancellationToken)
    {
        var record = Find(reference);
        var tagged = InRegistry(reference);
        if (record is not null)
        {
            store.Images.Remove(reference.ToString());
        }
        if (tagged is not null)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var response = await http.DeleteAsync(new Uri($"http://{registryHost}/v2/{reference.Repository}/manifests/{reference.Tag}"), cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.NotFound)
            {
                throw new InvalidOperationException($"the registry refused to delete tag {reference}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
            }
        }
        return record?.TargetDigest ?? tagged;
    }

    /// <summary>PullAsync pulls into the store and tags; its duration feeds the pull histogram.</summary>
    public async Task<Digest> PullAsync(ImageReference reference, IProgress<PullProgress> progress, CancellationToken cancellationToken)
    {
        using var client = new RegistryClient(new RegistryClientOptions { Settings = registrySettings });
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var pulled = await new ImagePuller(store, client).PullAsync(reference, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        FleetMetrics.ObserveImagePull(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return pulled.Digest;
    }

    /// <summary>PushAsync pushes the image tagged <paramref name="reference"/> to its registry.</summary>
    public async Task<Digest> PushAsync(ImageReference reference, IProgress<PullProgress> progress, CancellationToken cancellationToken)
    {
        var record = Find(reference) ?? throw new KeyNotFoundException($"no image {reference} in this node's store (build or pull it first)");
        using var client = new RegistryClient(new RegistryClientOptions { Settings = registrySettings });
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
            try
            {
                await TarFile.ExtractToDirectoryAsync(contextTar, context, overwriteFiles: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // .NET refuses entries (and link targets) outside the directory; say so as a build error.
                throw new BuildException($"the build context could not be unpacked: {e.Message}", e);
            }
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
    private (long Size, DateTimeOffset? Created) Describe(string manifestDigest, long fallbackSize)
    {
        try
        {
            var digest = Digest.Parse(manifestDigest);
            if (!store.Contains(digest))
            {
                return (fallbackSize, null);
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
            return (fallbackSize, null);
        }
    }
}
