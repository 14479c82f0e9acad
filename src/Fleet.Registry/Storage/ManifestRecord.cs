using System.Text.Json.Serialization;

namespace Fleet.Registry.Storage;

/// <summary>
/// ManifestRecord is what a repository remembers of a manifest besides its bytes (which live in
/// the content store): the media type it was pushed with, so GET serves it unchanged, and what
/// the referrers API lists.
/// </summary>
internal sealed record ManifestRecord
{
    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("size")]
    public required long Size { get; init; }

    [JsonPropertyName("artifactType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ArtifactType { get; init; }

    [JsonPropertyName("annotations")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>Subject is the digest this manifest refers to (OCI 1.1 referrers), not part of a descriptor.</summary>
    [JsonPropertyName("subject")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subject { get; init; }
}
