using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Fleet.Images.Store;

namespace Fleet.Images.Oci;

/// <summary>Descriptor points at content: its media type, digest and size.</summary>
public sealed record Descriptor
{
    [JsonPropertyName("mediaType")]
    public string MediaType { get; init; } = "";

    [JsonPropertyName("digest")]
    public string Digest { get; init; } = "";

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("urls")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Urls { get; init; }

    [JsonPropertyName("annotations")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    [JsonPropertyName("platform")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Platform? Platform { get; init; }

    /// <summary>ParsedDigest is <see cref="Digest"/> checked; the error names the descriptor.</summary>
    public Digest ParsedDigest => Store.Digest.TryParse(Digest, out var d, out var error)
        ? d
        : throw new ManifestException($"descriptor of {MediaType}: {error}");

    /// <summary>Of describes content already in hand.</summary>
    public static Descriptor Of(string mediaType, Digest digest, long size) =>
        new() { MediaType = mediaType, Digest = digest.ToString(), Size = size };
}

/// <summary>Platform is the os/architecture(/variant) an image runs on.</summary>
public sealed record Platform
{
    [JsonPropertyName("architecture")]
    public string Architecture { get; init; } = "";

    [JsonPropertyName("os")]
    public string Os { get; init; } = "";

    [JsonPropertyName("variant")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }

    [JsonPropertyName("os.version")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OsVersion { get; init; }

    /// <summary>LinuxAmd64 is the default platform.</summary>
    public static Platform LinuxAmd64 { get; } = new() { Os = "linux", Architecture = "amd64" };

    /// <summary>Parse reads <c>os/arch[/variant]</c>.</summary>
    public static Platform Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        return parts.Length is 2 or 3
            ? new Platform { Os = parts[0], Architecture = parts[1], Variant = parts.Length == 3 ? parts[2] : null }
            : throw new FormatException($"platform `{text}` must be os/arch or os/arch/variant");
    }

    /// <summary>Matches is true when <paramref name="candidate"/> can run where this platform is wanted.</summary>
    public bool Matches(Platform? candidate) =>
        candidate is not null
        && string.Equals(candidate.Os, Os, StringComparison.Ordinal)
        && string.Equals(candidate.Architecture, Architecture, StringComparison.Ordinal)
        && (Variant is null || candidate.Variant is null || string.Equals(candidate.Variant, Variant, StringComparison.Ordinal));

    public override string ToString() => $"{Os}/{Architecture}" + (Variant is null ? "" : "/" + Variant);
}

/// <summary>ImageManifest is an OCI image manifest or a Docker schema-2 manifest (same shape).</summary>
public sealed record ImageManifest
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MediaType { get; init; }

    [JsonPropertyName("config")]
    public Descriptor Config { get; init; } = new();

    [JsonPropertyName("layers")]
    public IReadOnlyList<Descriptor> Layers { get; init; } = [];

    [JsonPropertyName("annotations")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>ImageIndex is an OCI image index or a Docker manifest list.</summary>
public sealed record ImageIndex
{
    /// <summary>AttestationAnnotation marks BuildKit's attestation manifests, which are never run.</summary>
    public const string ReferenceTypeAnnotation = "vnd.docker.reference.type";

    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MediaType { get; init; }

    [JsonPropertyName("manifests")]
    public IReadOnlyList<Descriptor> Manifests { get; init; } = [];

    [JsonPropertyName("annotations")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>
    /// Select picks the manifest for <paramref name="platform"/>: attestation manifests and
    /// unknown/unknown entries are skipped; an exact variant match wins over a variant-less one.
    /// </summary>
    public Descriptor? Select(Platform platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        var candidates = Manifests
            .Where(m => m.Annotations?.GetValueOrDefault(ReferenceTypeAnnotation) != "attestation-manifest")
            .Where(m => platform.Matches(m.Platform))
            .ToList();
        return candidates.FirstOrDefault(m => platform.Variant is not null && m.Platform!.Variant == platform.Variant)
            ?? candidates.FirstOrDefault();
    }
}

/// <summary>ImageConfig is the part of an image's config Fleet needs: platform, rootfs and run settings.</summary>
public sealed record ImageConfig
{
    [JsonPropertyName("architecture")]
    public string Architecture { get; init; } = "";

    [JsonPropertyName("os")]
    public string Os { get; init; } = "";

    [JsonPropertyName("config")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Config { get; init; }

    [JsonPropertyName("rootfs")]
    public RootFs RootFs { get; init; } = new();
}

/// <summary>RootFs lists the digests of the uncompressed layers, in order.</summary>
public sealed record RootFs
{
    [JsonPropertyName("type")]
    public string Type { get; init; } = "layers";

    [JsonPropertyName("diff_ids")]
    public IReadOnlyList<string> DiffIds { get; init; } = [];
}

/// <summary>ManifestException: a manifest, index or config is malformed or unsupported; the message says which and why.</summary>
public sealed class ManifestException : Exception
{
    public ManifestException()
    {
    }

    public ManifestException(string message)
        : base(message)
    {
    }

    public ManifestException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>OciJson reads and writes the documents; <see cref="Kind"/> tells an index from a manifest.</summary>
public static class OciJson
{
    /// <summary>Options are shared (and cached) serializer options.</summary>
    public static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never, TypeInfoResolver = ImagesJsonContext.CreateResolver() };

    /// <summary>
    /// Kind returns the media type of a manifest document: its mediaType field, or, when that is
    /// absent (allowed by OCI), index when it has manifests and manifest when it has layers.
    /// </summary>
    public static string Kind(ReadOnlySpan<byte> json, string? declared = null)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ManifestException("manifest is not a JSON object");
            }
            if (root.TryGetProperty("schemaVersion", out var version) && version.ValueKind == JsonValueKind.Number && version.GetInt32() == 1)
            {
                throw new ManifestException("Docker schema 1 manifests are not supported (the registry was not sent an Accept list it honours)");
            }
            if (root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String && mt.GetString() is { Length: > 0 } mediaType)
            {
                return mediaType;
            }
            if (declared is not null && (MediaTypes.IsIndex(declared) || MediaTypes.IsManifest(declared)))
            {
                return declared;
            }
            if (root.TryGetProperty("manifests", out _))
            {
                return MediaTypes.OciIndex;
            }
            if (root.TryGetProperty("layers", out _))
            {
                return MediaTypes.OciManifest;
            }
            throw new ManifestException("document is neither an image manifest nor an index");
        }
        catch (JsonException e)
        {
            throw new ManifestException($"manifest is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Read deserializes <typeparamref name="T"/>, naming <paramref name="what"/> on failure.</summary>
    public static T Read<T>(ReadOnlySpan<byte> json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, TypeInfo<T>()) ?? throw new ManifestException($"{what} is null");
        }
        catch (JsonException e)
        {
            throw new ManifestException($"{what} is not valid: {e.Message}", e);
        }
    }

    /// <summary>Write serializes a document compactly.</summary>
    public static byte[] Write<T>(T document) => JsonSerializer.SerializeToUtf8Bytes(document, TypeInfo<T>());

    /// <summary>TypeInfo is the (source-generated where possible) metadata of <typeparamref name="T"/>.</summary>
    internal static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    /// <summary>Children lists what a manifest or index refers to (config + layers, or manifests).</summary>
    public static IReadOnlyList<Descriptor> Children(ReadOnlySpan<byte> json, string? declared = null)
    {
        var kind = Kind(json, declared);
        if (MediaTypes.IsIndex(kind))
        {
            return Read<ImageIndex>(json, "image index").Manifests;
        }
        if (MediaTypes.IsManifest(kind))
        {
            var manifest = Read<ImageManifest>(json, "image manifest");
            return [manifest.Config, .. manifest.Layers];
        }
        return [];
    }

    /// <summary>ChainIds computes the OCI chain ids of diff ids: each names a layer and everything below it.</summary>
    public static IReadOnlyList<Digest> ChainIds(IReadOnlyList<Digest> diffIds)
    {
        ArgumentNullException.ThrowIfNull(diffIds);
        var result = new List<Digest>(diffIds.Count);
        foreach (var diffId in diffIds)
        {
            result.Add(result.Count == 0
                ? diffId
                : Digest.Of(System.Text.Encoding.ASCII.GetBytes($"{result[^1]} {diffId}")));
        }
        return result;
    }
}
