using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

/// <summary>
/// UmociImages builds, once per test class, an OCI layout holding a three-layer busybox image
/// (tag <c>t</c>), two single-platform images (<c>amd64</c>, <c>arm64</c>) and a multi-platform
/// index over them (<c>multi</c>), all with umoci; it deletes the layout afterwards.
/// </summary>
public sealed class UmociImages : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("fleet-registry-images-").FullName;

    public string Layout => Path.Combine(Directory, "layout");

    public async Task InitializeAsync()
    {
        await Peer.BuildImageAsync(Layout, "t", Directory, seed: 1);
        await Peer.BuildImageAsync(Layout, "base", Directory, payloadBytes: 64 * 1024, seed: 2);
        await Peer.RunAsync("umoci", "config", "--image", $"{Layout}:base", "--architecture", "amd64", "--os", "linux", "--tag", "amd64");
        await Peer.RunAsync("umoci", "config", "--image", $"{Layout}:base", "--architecture", "arm64", "--os", "linux", "--tag", "arm64");
        AddIndex("multi", ("amd64", "amd64"), ("arm64", "arm64"));
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Descriptor returns the digest and size of a tag in an OCI layout's index.json.</summary>
    public static (Digest Digest, long Size, string MediaType) Descriptor(string layout, string tag)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        foreach (var manifest in index.RootElement.GetProperty("manifests").EnumerateArray())
        {
            if (manifest.TryGetProperty("annotations", out var annotations)
                && annotations.TryGetProperty("org.opencontainers.image.ref.name", out var name) && name.GetString() == tag)
            {
                return (Digest.Parse(manifest.GetProperty("digest").GetString()!), manifest.GetProperty("size").GetInt64(), manifest.GetProperty("mediaType").GetString()!);
            }
        }
        throw new InvalidOperationException($"tag {tag} is not in {layout}/index.json");
    }

    /// <summary>BlobPath is where an OCI layout keeps a blob.</summary>
    public static string BlobPath(string layout, Digest digest) => Path.Combine(layout, "blobs", "sha256", digest.Hex);

    /// <summary>AddIndex writes a multi-platform image index over existing tags and tags it, by hand (umoci makes no indexes).</summary>
    private void AddIndex(string tag, params (string Tag, string Architecture)[] platforms)
    {
        var manifests = new JsonArray();
        foreach (var (childTag, architecture) in platforms)
        {
            var (digest, size, mediaType) = Descriptor(Layout, childTag);
            manifests.Add(new JsonObject
            {
                ["mediaType"] = mediaType,
                ["digest"] = digest.ToString(),
                ["size"] = size,
                ["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" },
            });
        }
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = manifests,
        });
        var indexDigest = Digest.Of(bytes);
        File.WriteAllBytes(BlobPath(Layout, indexDigest), bytes);

        var indexPath = Path.Combine(Layout, "index.json");
        var layoutIndex = JsonNode.Parse(File.ReadAllBytes(indexPath))!;
        layoutIndex["manifests"]!.AsArray().Add(new JsonObject
        {
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["digest"] = indexDigest.ToString(),
            ["size"] = bytes.Length,
            ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag },
        });
        File.WriteAllText(indexPath, layoutIndex.ToJsonString());
    }
}
