using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;

namespace Fleet.Build;

/// <summary>BuildRequest is one build: the context, the Fleetfile text, build args and the tag to set.</summary>
public sealed record BuildRequest
{
    public required string ContextDir { get; init; }

    /// <summary>FleetfileText is the build file; null reads CONTEXT/Fleetfile.</summary>
    public string? FleetfileText { get; init; }

    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();

    /// <summary>Tag names the result in the image catalog (normalized, e.g. <c>docker.io/library/app:latest</c>); null tags nothing.</summary>
    public string? Tag { get; init; }

    /// <summary>NoCache makes every layer again.</summary>
    public bool NoCache { get; init; }
}

/// <summary>BuildResult is a built image: its manifest and config digests, and what each step did.</summary>
public sealed record BuildResult(Digest ManifestDigest, long ManifestSize, Digest ConfigDigest, ImageManifest Manifest, IReadOnlyList<string> Steps)
{
    /// <summary>CachedSteps counts the layer steps taken from the cache.</summary>
    public int CachedSteps => Steps.Count(s => s.StartsWith("CACHED", StringComparison.Ordinal));
}

/// <summary>
/// ImageBuilder runs a Fleetfile into an OCI image in the content store:
/// <code>
/// FROM ─► base manifest + config (catalog) or scratch
///   COPY/ADD ─► ContextFiles ─► LayerWriter ─► layer blob (gzip) + diff_id
///   RUN ─────► snapshots of every layer so far (overlay lowers) ─► RunStep ─► UpperDirCapture ─► LayerWriter
///   ENV/WORKDIR/USER/EXPOSE/LABEL/CMD/ENTRYPOINT ─► config
/// config + manifest ─► store ─► catalog tag
/// </code>
/// Every step has a cache key: sha256 of the previous key, the instruction text and (for
/// COPY/ADD) the hash of the files; a key seen before reuses its layer (CONTEXT-free RUN results
/// included). Timestamps are the epoch, so an unchanged build yields the same manifest digest.
/// </summary>
public sealed class ImageBuilder(ContentStore store, RunStepOptions runOptions)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = false };

    private string CacheDir => Path.Combine(store.Root, "build-cache");

    /// <summary>BuildAsync builds; throws <see cref="FleetfileException"/> or <see cref="BuildException"/>.</summary>
    public async Task<BuildResult> BuildAsync(BuildRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = request.FleetfileText ?? await File.ReadAllTextAsync(Path.Combine(request.ContextDir, "Fleetfile"), cancellationToken).ConfigureAwait(false);
        var file = FleetfileParser.Parse(text, request.ContextDir, request.BuildArgs);
        Directory.CreateDirectory(CacheDir);
        using var lease = store.AcquireLease();

        var from = file.Instructions.OfType<FromInstruction>().First();
        var state = await BaseAsync(from, cancellationToken).ConfigureAwait(false);
        var key = state.Key;
        var steps = new List<string>();
        foreach (var instruction in file.Instructions)
        {
            if (instruction is FromInstruction or ArgInstruction)
            {
                continue;
            }
            key = Sha(key + "\n" + instruction.Text);
            switch (instruction)
            {
                case CopyInstruction copy:
                {
                    var entries = ContextFiles.Entries(copy, request.ContextDir, state.WorkingDir);
                    key = Sha(key + "\n" + ContextFiles.Hash(entries));
                    var layer = request.NoCache ? null : Cached(key);
                    steps.Add((layer is null ? "" : "CACHED ") + instruction.Text);
                    layer ??= Remember(key, await LayerWriter.WriteAsync(store, entries, cancellationToken).ConfigureAwait(false));
                    state.AddLayer(layer, instruction.Text);
                    lease.Add(layer.Descriptor.ParsedDigest);
                    break;
                }
                case RunInstruction run:
                {
                    key = Sha(key + "\n" + state.ConfigKey());
                    var layer = request.NoCache ? null : Cached(key);
                    steps.Add((layer is null ? "" : "CACHED ") + instruction.Text);
                    layer ??= Remember(key, await RunAsync(run, state, lease, cancellationToken).ConfigureAwait(false));
                    state.AddLayer(layer, instruction.Text);
                    lease.Add(layer.Descriptor.ParsedDigest);
                    break;
                }
                default:
                    state.Apply(instruction);
                    steps.Add(instruction.Text);
                    break;
            }
        }

        var configBytes = state.ConfigJson();
        var configDigest = await store.PutBytesAsync(configBytes, cancellationToken: cancellationToken).ConfigureAwait(false);
        lease.Add(configDigest);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = Descriptor.Of(MediaTypes.OciConfig, configDigest, configBytes.Length),
            Layers = [.. state.Layers.Select(l => l.Descriptor)],
        };
        var manifestBytes = OciJson.Write(manifest);
        var manifestDigest = await store.PutBytesAsync(manifestBytes, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (request.Tag is { } tag)
        {
            if (Fleet.Core.Ids.ImageReference.TryParse(tag, out var normalized, out _))
            {
                tag = normalized!.ToString();
            }
            store.Images.Set(new ImageRecord
            {
                Name = tag,
                Digest = manifestDigest.ToString(),
                MediaType = MediaTypes.OciManifest,
                Size = manifestBytes.Length,
                Manifest = manifestDigest.ToString(),
            });
        }
        return new BuildResult(manifestDigest, manifestBytes.Length, configDigest, manifest, steps);
    }

    private async Task<MadeLayer> RunAsync(RunInstruction run, BuildState state, Lease lease, CancellationToken cancellationToken)
    {
        // Every layer so far becomes a snapshot (an overlay lower dir), named by chain id.
        var chainIds = OciJson.ChainIds([.. state.Layers.Select(l => l.DiffId)]);
        lease.AddAll([], chainIds);
        for (var i = 0; i < chainIds.Count; i++)
        {
            await SnapshotUnpacker.UnpackAsync(store, state.Layers[i].Descriptor, state.Layers[i].DiffId, chainIds[i], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        var lowers = chainIds.Reverse().Select(store.Snapshots.PathOf).ToList();
        var result = await new RunStep(runOptions).RunAsync(run.Command, state.RunConfig(), lowers, cancellationToken).ConfigureAwait(false);
        try
        {
            if (result.ExitCode != 0)
            {
                throw new BuildException(
                    $"Fleetfile:{run.Line}: `{run.Text}` failed with exit code {result.ExitCode}:\n{result.Output}",
                    result.ExitCode,
                    result.Output);
            }
            return await LayerWriter.WriteAsync(store, result.Changes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            RunStep.Cleanup(result);
        }
    }

    private async Task<BuildState> BaseAsync(FromInstruction from, CancellationToken cancellationToken)
    {
        if (from.IsScratch)
        {
            return new BuildState(null, "scratch");
        }
        var record = store.Images.Get(from.Image);
        if (record is null && Fleet.Core.Ids.ImageReference.TryParse(from.Image, out var reference, out _))
        {
            record = store.Images.Get(reference!.ToString());
        }
        if (record is null)
        {
            throw new BuildException($"FROM {from.Image}: no such image in the store; pull or import it first");
        }
        var (manifestDigest, manifest) = await StoredImages.ResolveManifestAsync(store, record.TargetDigest, cancellationToken: cancellationToken).ConfigureAwait(false);
        var config = JsonNode.Parse(await store.ReadAllBytesAsync(manifest.Config.ParsedDigest, cancellationToken).ConfigureAwait(false))!.AsObject();
        var state = new BuildState(config, manifestDigest.ToString());
        var diffIds = config["rootfs"]?["diff_ids"]?.AsArray().Select(n => Digest.Parse(n!.GetValue<string>())).ToList() ?? [];
        if (diffIds.Count != manifest.Layers.Count)
        {
            throw new BuildException($"FROM {from.Image}: config lists {diffIds.Count} diff_ids for {manifest.Layers.Count} layers");
        }
        for (var i = 0; i < diffIds.Count; i++)
        {
            state.Layers.Add(new MadeLayer(manifest.Layers[i], diffIds[i]));
        }
        return state;
    }

    private MadeLayer? Cached(string key)
    {
        var path = Path.Combine(CacheDir, key + ".json");
        if (!File.Exists(path))
        {
            return null;
        }
        // The cache only saves work: an entry that cannot be read (a torn write, a hand edit) is
        // a miss that the step's rebuild overwrites, never a build that fails on it.
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            return null;
        }
        if (node is not JsonObject entry
            || !TryDigest(entry["digest"], out var digest)
            || !TryDigest(entry["diffId"], out var diffId)
            || entry["size"] is not JsonValue size
            || !size.TryGetValue<long>(out var bytes)
            || !store.Contains(digest))
        {
            return null;
        }
        return new MadeLayer(Descriptor.Of(MediaTypes.OciLayerGzip, digest, bytes), diffId);
    }

    private static bool TryDigest(JsonNode? node, out Digest digest)
    {
        digest = default;
        return node is JsonValue value && value.TryGetValue<string>(out var text) && Digest.TryParse(text, out digest, out _);
    }

    private MadeLayer Remember(string key, MadeLayer layer)
    {
        var json = new JsonObject
        {
            ["digest"] = layer.Descriptor.Digest,
            ["size"] = layer.Descriptor.Size,
            ["diffId"] = layer.DiffId.ToString(),
        };
        DurableFile.Replace(Path.Combine(CacheDir, key + ".json"), Encoding.UTF8.GetBytes(json.ToJsonString(Indented)));
        return layer;
    }

    internal static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
