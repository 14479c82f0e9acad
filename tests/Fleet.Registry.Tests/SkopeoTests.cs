using System.Net;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

/// <summary>The registry against the real peers: images made by umoci, pushed and pulled by skopeo.</summary>
public sealed class SkopeoTests(UmociImages images) : IClassFixture<UmociImages>, IAsyncLifetime
{
    private RegistryFixture _registry = null!;
    private string _scratch = null!;

    public async Task InitializeAsync()
    {
        Peer.Require("skopeo");
        _registry = await RegistryFixture.StartAsync();
        _scratch = Directory.CreateTempSubdirectory("fleet-registry-skopeo-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Directory.Delete(_scratch, recursive: true);
    }

    private string Remote(string repository, string tag) => $"docker://{_registry.Server.HostPort}/{repository}:{tag}";

    [Fact]
    public async Task Skopeo_push_then_pull_round_trips_a_multi_layer_image_with_identical_digests()
    {
        var (manifestDigest, _, _) = UmociImages.Descriptor(images.Layout, "t");

        await Peer.RunAsync("skopeo", "copy", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("fleet/busybox", "t"));

        using (var head = await _registry.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/fleet/busybox/manifests/t")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(manifestDigest.ToString(), Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
        }
        var pulled = Path.Combine(_scratch, "pulled");
        await Peer.RunAsync("skopeo", "copy", "--src-tls-verify=false", Remote("fleet/busybox", "t"), $"oci:{pulled}:t");

        Assert.Equal(manifestDigest, UmociImages.Descriptor(pulled, "t").Digest);
        var manifest = JsonDocument.Parse(File.ReadAllBytes(UmociImages.BlobPath(pulled, manifestDigest)));
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().Select(l => Digest.Parse(l.GetProperty("digest").GetString()!)).ToList();
        Assert.Equal(3, layers.Count);
        foreach (var blob in layers.Append(Digest.Parse(manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!)))
        {
            Assert.Equal(await File.ReadAllBytesAsync(UmociImages.BlobPath(images.Layout, blob)), await File.ReadAllBytesAsync(UmociImages.BlobPath(pulled, blob)));
        }
        var inspect = await Peer.RunAsync("skopeo", "inspect", "--tls-verify=false", Remote("fleet/busybox", "t"));
        Assert.Contains(manifestDigest.ToString(), inspect.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Skopeo_copy_all_pushes_and_pulls_a_multi_platform_index_unchanged()
    {
        var (indexDigest, _, _) = UmociImages.Descriptor(images.Layout, "multi");

        await Peer.RunAsync("skopeo", "copy", "--all", "--dest-tls-verify=false", $"oci:{images.Layout}:multi", Remote("fleet/multi", "v1"));

        var raw = await Peer.RunAsync("skopeo", "inspect", "--raw", "--tls-verify=false", Remote("fleet/multi", "v1"));
        Assert.Equal(await File.ReadAllTextAsync(UmociImages.BlobPath(images.Layout, indexDigest)), raw.Stdout.TrimEnd('\n'));
        foreach (var arch in new[] { "amd64", "arm64" })
        {
            var child = UmociImages.Descriptor(images.Layout, arch).Digest;
            using var get = await _registry.Http.GetAsync($"/v2/fleet/multi/manifests/{child}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        var pulled = Path.Combine(_scratch, "pulled");
        await Peer.RunAsync("skopeo", "copy", "--all", "--src-tls-verify=false", Remote("fleet/multi", "v1"), $"oci:{pulled}:v1");
        Assert.Equal(indexDigest, UmociImages.Descriptor(pulled, "v1").Digest);

        var arm = await Peer.RunAsync("skopeo", "--override-arch", "arm64", "inspect", "--tls-verify=false", Remote("fleet/multi", "v1"));
        Assert.Contains("\"Architecture\": \"arm64\"", arm.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Second_push_to_another_repository_reuses_blobs_and_both_pull()
    {
        var (manifestDigest, _, _) = UmociImages.Descriptor(images.Layout, "t");
        await Peer.RunAsync("skopeo", "copy", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("first", "t"));
        var blobsAfterFirst = _registry.Registry.Store.List().Count();

        await Peer.RunAsync("skopeo", "copy", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("second", "t"));

        Assert.Equal(blobsAfterFirst, _registry.Registry.Store.List().Count());
        foreach (var repository in new[] { "first", "second" })
        {
            var pulled = Path.Combine(_scratch, repository);
            await Peer.RunAsync("skopeo", "copy", "--src-tls-verify=false", Remote(repository, "t"), $"oci:{pulled}:t");
            Assert.Equal(manifestDigest, UmociImages.Descriptor(pulled, "t").Digest);
        }
    }

    [Fact]
    public async Task Skopeo_pushes_a_docker_schema_2_manifest_which_is_served_with_its_docker_media_type()
    {
        await Peer.RunAsync("skopeo", "copy", "--format", "v2s2", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("fleet/docker", "t"));

        using var get = await _registry.Http.GetAsync("/v2/fleet/docker/manifests/t");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", get.Content.Headers.ContentType?.MediaType);
        var bytes = await get.Content.ReadAsByteArrayAsync();
        Assert.Equal(Digest.Of(bytes).ToString(), Assert.Single(get.Headers.GetValues("Docker-Content-Digest")));

        var pulled = Path.Combine(_scratch, "pulled");
        await Peer.RunAsync("skopeo", "copy", "--src-tls-verify=false", Remote("fleet/docker", "t"), $"dir:{pulled}");
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(pulled, "manifest.json")));
    }

    [Fact]
    public async Task Skopeo_lists_tags_and_deletes_a_manifest()
    {
        foreach (var tag in new[] { "v1", "v2", "latest" })
        {
            await Peer.RunAsync("skopeo", "copy", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("fleet/tags", tag));
        }

        var tags = await Peer.RunAsync("skopeo", "list-tags", "--tls-verify=false", $"docker://{_registry.Server.HostPort}/fleet/tags");
        using (var list = JsonDocument.Parse(tags.Stdout))
        {
            Assert.Equal(["latest", "v1", "v2"], list.RootElement.GetProperty("Tags").EnumerateArray().Select(t => t.GetString()!));
        }

        await Peer.RunAsync("skopeo", "delete", "--tls-verify=false", Remote("fleet/tags", "v1"));

        // Deleting by tag through skopeo deletes the manifest's digest, and with it every tag on it.
        using var gone = await _registry.Http.GetAsync("/v2/fleet/tags/manifests/latest");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        var after = await Peer.RunAsync("skopeo", "list-tags", "--tls-verify=false", $"docker://{_registry.Server.HostPort}/fleet/tags");
        using var empty = JsonDocument.Parse(after.Stdout);
        Assert.Equal(0, empty.RootElement.GetProperty("Tags").GetArrayLength());
    }

    [Fact]
    public async Task Tampered_layer_is_refused_by_skopeo_and_never_lands_in_the_registry()
    {
        var tampered = Path.Combine(_scratch, "tampered");
        CopyDirectory(images.Layout, tampered);
        var manifestDigest = UmociImages.Descriptor(tampered, "t").Digest;
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(UmociImages.BlobPath(tampered, manifestDigest)));
        var layer = Digest.Parse(manifest.RootElement.GetProperty("layers")[2].GetProperty("digest").GetString()!);
        var bytes = await File.ReadAllBytesAsync(UmociImages.BlobPath(tampered, layer));
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(UmociImages.BlobPath(tampered, layer), bytes);

        var push = await Peer.RunAsync("skopeo", ["copy", "--dest-tls-verify=false", $"oci:{tampered}:t", Remote("fleet/tampered", "t")], allowFailure: true);

        Assert.True(push.ExitCode != 0, Peer.Describe(push));
        Assert.Contains(layer.ToString(), push.Stderr, StringComparison.Ordinal);
        Assert.False(_registry.Registry.Store.Contains(Digest.Of(bytes)));
        using var get = await _registry.Http.GetAsync("/v2/fleet/tampered/manifests/t");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Tampered_copy_of_a_pushed_layer_is_refused_by_the_registry_naming_both_digests()
    {
        await Peer.RunAsync("skopeo", "copy", "--dest-tls-verify=false", $"oci:{images.Layout}:t", Remote("fleet/busybox", "t"));
        var manifestDigest = UmociImages.Descriptor(images.Layout, "t").Digest;
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(UmociImages.BlobPath(images.Layout, manifestDigest)));
        var layer = Digest.Parse(manifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!);
        var bytes = await File.ReadAllBytesAsync(UmociImages.BlobPath(images.Layout, layer));
        bytes[^1] ^= 0x01;

        // Pushed into another repository, as an attacker would, under the genuine layer's digest.
        using var start = await _registry.Http.PostAsync("/v2/fleet/evil/blobs/uploads/", null);
        using var put = await _registry.Http.PutAsync($"{start.Headers.Location}?digest={layer}", new ByteArrayContent(bytes));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains(layer.ToString(), message, StringComparison.Ordinal);
        Assert.Contains(Digest.Of(bytes).ToString(), message, StringComparison.Ordinal);
        using var evil = await _registry.Http.GetAsync($"/v2/fleet/evil/blobs/{layer}");
        Assert.Equal(HttpStatusCode.NotFound, evil.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(UmociImages.BlobPath(images.Layout, layer)), await _registry.Http.GetByteArrayAsync($"/v2/fleet/busybox/blobs/{layer}"));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}
