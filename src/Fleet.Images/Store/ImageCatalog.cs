using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Fleet.Images.Store;

/// <summary>ImageRecord is one named image: the manifest (or index) a name points at.</summary>
public sealed record ImageRecord
{
    /// <summary>Name is the normalized reference, e.g. <c>docker.io/library/busybox:latest</c>.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Target is the manifest or index digest the name points at.</summary>
    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    /// <summary>Manifest is the platform manifest chosen from an index (equal to Digest for a plain manifest).</summary>
    [JsonPropertyName("manifest")]
    public string? Manifest { get; init; }

    [JsonPropertyName("updated")]
    public DateTimeOffset Updated { get; init; }

    public Digest TargetDigest => Store.Digest.Parse(Digest);
}

/// <summary>
/// ImageCatalog is the store's image index: name (repository:tag or repository@digest) → the
/// manifest it points at, persisted as ROOT/images.json and replaced atomically on every change.
/// Its entries are the roots of garbage collection.
/// </summary>
public sealed class ImageCatalog
{
    private static readonly JsonTypeInfo<List<ImageRecord>> Json =
        (JsonTypeInfo<List<ImageRecord>>)new JsonSerializerOptions { WriteIndented = true, TypeInfoResolver = Oci.ImagesJsonContext.Default }.GetTypeInfo(typeof(List<ImageRecord>));
    private readonly string _path;
    private readonly string _lockPath;

    internal ImageCatalog(ContentStore store)
    {
        _path = Path.Combine(store.Root, "images.json");
        _lockPath = Path.Combine(store.Root, "images.lock");
    }

    /// <summary>List returns every named image, sorted by name.</summary>
    public IReadOnlyList<ImageRecord> List() => [.. Load().Values.OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>Get returns the image named <paramref name="name"/>, or null.</summary>
    public ImageRecord? Get(string name) => Load().GetValueOrDefault(name);

    /// <summary>Set names an image (replacing what the name pointed at).</summary>
    public void Set(ImageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _ = record.TargetDigest;
        Update(all => all[record.Name] = record with { Updated = DateTimeOffset.UtcNow });
    }

    /// <summary>Remove drops a name; its content becomes collectable if nothing else refers to it.</summary>
    public bool Remove(string name)
    {
        var removed = false;
        Update(all => removed = all.Remove(name));
        return removed;
    }

    private void Update(Action<Dictionary<string, ImageRecord>> change)
    {
        using (StoreLock.Exclusive(_lockPath))
        {
            var all = Load();
            change(all);
            // Durably: a catalog torn by a power loss would lose every image name on the node.
            DurableFile.Replace(_path, JsonSerializer.SerializeToUtf8Bytes([.. all.Values.OrderBy(r => r.Name, StringComparer.Ordinal)], Json));
        }
    }

    private Dictionary<string, ImageRecord> Load()
    {
        try
        {
            var records = JsonSerializer.Deserialize(File.ReadAllBytes(_path), Json) ?? [];
            return records.ToDictionary(r => r.Name, StringComparer.Ordinal);
        }
        catch (FileNotFoundException)
        {
            return new Dictionary<string, ImageRecord>(StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new ContentStoreException($"image index {_path} is corrupt: {e.Message}", e);
        }
    }
}
