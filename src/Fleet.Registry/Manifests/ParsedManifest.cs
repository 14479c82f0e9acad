using System.Net;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Manifests;

/// <summary>ManifestReference is one descriptor a manifest points at, which must be in the repository.</summary>
internal sealed record ManifestReference(Digest Digest, long Size, string? MediaType, string Field);

/// <summary>
/// ParsedManifest is what the registry needs from a pushed manifest: its type, the blobs or child
/// manifests it references (checked to exist before it is accepted), its subject and artifact
/// type (for the referrers API). The bytes themselves are stored untouched.
/// </summary>
internal sealed record ParsedManifest
{
    public required string MediaType { get; init; }

    public required IReadOnlyList<ManifestReference> Blobs { get; init; }

    public required IReadOnlyList<ManifestReference> Manifests { get; init; }

    public Digest? Subject { get; init; }

    public string? ArtifactType { get; init; }

    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>
    /// Parse reads <paramref name="bytes"/> pushed with Content-Type <paramref name="contentType"/>.
    /// Every refusal is MANIFEST_INVALID naming the field at fault.
    /// </summary>
    public static ParsedManifest Parse(ReadOnlySpan<byte> bytes, string? contentType)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.ToArray());
        }
        catch (JsonException e)
        {
            throw Invalid($"manifest is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("manifest must be a JSON object");
            }
            var declared = OptionalString(root, "mediaType", "mediaType");
            contentType = contentType?.Split(';')[0].Trim();
            if (string.IsNullOrEmpty(contentType))
            {
                contentType = null;
            }
            if (declared is not null && contentType is not null && declared != contentType)
            {
                throw Invalid($"manifest mediaType `{declared}` does not match the Content-Type `{contentType}`");
            }
            var mediaType = contentType ?? declared
                ?? throw Invalid("manifest has no media type: send a Content-Type header or a mediaType field");
            if (root.TryGetProperty("schemaVersion", out var schema) && (schema.ValueKind != JsonValueKind.Number || schema.GetInt32() != 2))
            {
                throw Invalid($"schemaVersion must be 2, got {schema.GetRawText()}");
            }

            var blobs = new List<ManifestReference>();
            var manifests = new List<ManifestReference>();
            string? artifactType = OptionalString(root, "artifactType", "artifactType");
            if (MediaTypes.IsImageManifest(mediaType))
            {
                if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("image manifest has no `config` descriptor");
                }
                var configReference = Descriptor(config, "config");
                blobs.Add(configReference);
                artifactType ??= configReference.MediaType;
                var index = 0;
                foreach (var layer in Array(root, "layers", required: mediaType == MediaTypes.DockerManifest))
                {
                    var reference = Descriptor(layer, $"layers[{index++}]");
                    if (!MediaTypes.IsNonDistributable(reference.MediaType))
                    {
                        blobs.Add(reference);
                    }
                }
            }
            else if (MediaTypes.IsIndex(mediaType))
            {
                var index = 0;
                foreach (var child in Array(root, "manifests", required: true))
                {
                    manifests.Add(Descriptor(child, $"manifests[{index++}]"));
                }
            }
            else
            {
                throw Invalid($"unsupported manifest media type `{mediaType}`; accepted: {MediaTypes.OciManifest}, {MediaTypes.OciIndex}, {MediaTypes.DockerManifest}, {MediaTypes.DockerManifestList}");
            }

            Digest? subject = null;
            if (root.TryGetProperty("subject", out var subjectElement) && subjectElement.ValueKind != JsonValueKind.Null)
            {
                if (subjectElement.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("`subject` must be a descriptor object");
                }
                subject = Descriptor(subjectElement, "subject").Digest;
            }

            Dictionary<string, string>? annotations = null;
            if (root.TryGetProperty("annotations", out var annotationsElement) && annotationsElement.ValueKind == JsonValueKind.Object)
            {
                annotations = [];
                foreach (var property in annotationsElement.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        throw Invalid($"annotation `{property.Name}` must be a string");
                    }
                    annotations[property.Name] = property.Value.GetString()!;
                }
            }

            return new ParsedManifest
            {
                MediaType = mediaType,
                Blobs = blobs,
                Manifests = manifests,
                Subject = subject,
                ArtifactType = artifactType,
                Annotations = annotations,
            };
        }
    }

    private static ManifestReference Descriptor(JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"`{field}` must be a descriptor object");
        }
        var digestText = OptionalString(element, "digest", field + ".digest") ?? throw Invalid($"`{field}` has no digest");
        if (!Digest.TryParse(digestText, out var digest, out var error))
        {
            throw Invalid($"`{field}.digest`: {error}");
        }
        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number
            || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw Invalid($"`{field}.size` must be a non-negative integer");
        }
        return new ManifestReference(digest, size, OptionalString(element, "mediaType", field + ".mediaType"), field);
    }

    private static IEnumerable<JsonElement> Array(JsonElement root, string name, bool required)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                throw Invalid($"manifest has no `{name}` array");
            }
            return [];
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid($"`{name}` must be an array");
        }
        return array.EnumerateArray().ToList();
    }

    private static string? OptionalString(JsonElement element, string name, string field)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid($"`{field}` must be a string");
    }

    private static RegistryException Invalid(string message) =>
        new(HttpStatusCode.BadRequest, ErrorCode.ManifestInvalid, message);
}
