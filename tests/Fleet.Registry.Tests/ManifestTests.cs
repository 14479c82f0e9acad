using System.Net;
using System.Text;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

public sealed class ManifestTests : IAsyncLifetime
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";

    private RegistryFixture _registry = null!;

    private HttpClient Http => _registry.Http;

    public async Task InitializeAsync() => _registry = await RegistryFixture.StartAsync(new RegistryOptions { MaxManifestBytes = 64 * 1024 });

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Manifest_is_served_byte_for_byte_with_its_media_type_by_tag_and_by_digest()
    {
        var manifest = await _registry.PushImageAsync("app", "v1", "layer one", "layer two");
        var digest = Digest.Of(manifest);

        foreach (var reference in new[] { "v1", digest.ToString() })
        {
            using var get = await Http.GetAsync($"/v2/app/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
            Assert.Equal(OciManifest, get.Content.Headers.ContentType?.MediaType);
            Assert.Equal(digest.ToString(), Assert.Single(get.Headers.GetValues("Docker-Content-Digest")));

            using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/app/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(manifest.Length, head.Content.Headers.ContentLength);
            Assert.Equal(digest.ToString(), Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
        }
    }

    [Fact]
    public async Task Whitespace_in_a_manifest_is_kept_so_its_digest_holds()
    {
        var config = await _registry.PushBlobAsync("app", "{}"u8.ToArray());
        var manifest = Encoding.UTF8.GetBytes($"{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{OciManifest}\",\n  \"config\": {{ \"mediaType\": \"application/vnd.oci.image.config.v1+json\", \"digest\": \"{config}\", \"size\": 2 }},\n  \"layers\": []\n}}\n");

        using var put = await _registry.PutManifestAsync("app", Digest.Of(manifest).ToString(), manifest, OciManifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(manifest, await Http.GetByteArrayAsync($"/v2/app/manifests/{Digest.Of(manifest)}"));
    }

    [Fact]
    public async Task Manifest_referencing_a_missing_blob_is_MANIFEST_BLOB_UNKNOWN_naming_it()
    {
        var config = await _registry.PushBlobAsync("app", "{}"u8.ToArray());
        var missing = Digest.Of("never pushed"u8);
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{missing}}","size":12}]}""");

        using var put = await _registry.PutManifestAsync("app", "v1", manifest, OciManifest);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, message, detail) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", code);
        Assert.Contains(missing.ToString(), message, StringComparison.Ordinal);
        Assert.Equal("layers[0]", detail.GetProperty("field").GetString());
        using var get = await Http.GetAsync("/v2/app/manifests/v1");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Manifest_declaring_the_wrong_size_for_a_blob_is_MANIFEST_INVALID()
    {
        var config = await _registry.PushBlobAsync("app", "{}"u8.ToArray());
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":3},"layers":[]}""");

        using var put = await _registry.PutManifestAsync("app", "v1", manifest, OciManifest);

        var (code, message, _) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("MANIFEST_INVALID", code);
        Assert.Contains(config.ToString(), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_manifest_pushed_by_digest_is_DIGEST_INVALID_naming_both()
    {
        var original = await _registry.PushImageAsync("app", "v1", "layer");
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(original).Replace("\"layers\"", "\"annotations\":{\"x\":\"evil\"},\"layers\"", StringComparison.Ordinal));

        using var put = await _registry.PutManifestAsync("app", Digest.Of(original).ToString(), tampered, OciManifest);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains(Digest.Of(original).ToString(), message, StringComparison.Ordinal);
        Assert.Contains(Digest.Of(tampered).ToString(), message, StringComparison.Ordinal);
        Assert.Equal(original, await Http.GetByteArrayAsync($"/v2/app/manifests/{Digest.Of(original)}"));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}""", "does not match the Content-Type")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}""", "no `config`")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:zz","size":1}}""", "config.digest")]
    public async Task Malformed_manifest_is_MANIFEST_INVALID_saying_why(string body, string reason)
    {
        using var put = await _registry.PutManifestAsync("app", "v1", Encoding.UTF8.GetBytes(body), OciManifest);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("MANIFEST_INVALID", code);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Manifest_over_the_size_limit_is_refused_with_413()
    {
        var huge = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{OciManifest}}}","annotations":{"pad":"{{{new string('x', 70 * 1024)}}}"}}""");

        using var put = await _registry.PutManifestAsync("app", "v1", huge, OciManifest);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, put.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("SIZE_INVALID", code);
        Assert.Contains("65536", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_needs_its_child_manifests_in_the_repository()
    {
        var child = await _registry.PushImageAsync("app", "amd64", "amd64 layer");
        var missing = Digest.Of("no such manifest"u8);
        var index = Index((Digest.Of(child), child.Length, "amd64"), (missing, 100, "arm64"));

        using var refused = await _registry.PutManifestAsync("app", "multi", index, OciIndex);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(refused);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", code);
        Assert.Contains(missing.ToString(), message, StringComparison.Ordinal);

        var arm = await _registry.PushImageAsync("app", "arm64", "arm64 layer");
        index = Index((Digest.Of(child), child.Length, "amd64"), (Digest.Of(arm), arm.Length, "arm64"));
        using var accepted = await _registry.PutManifestAsync("app", "multi", index, OciIndex);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        using var get = await Http.GetAsync("/v2/app/manifests/multi");
        Assert.Equal(OciIndex, get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(index, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Deleting_a_manifest_by_digest_removes_its_tags_and_deleting_a_tag_keeps_the_manifest()
    {
        var one = await _registry.PushImageAsync("app", "v1", "one");
        using (var retag = await _registry.PutManifestAsync("app", "latest", one, OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, retag.StatusCode);
        }

        using var untag = await Http.DeleteAsync("/v2/app/manifests/latest");
        Assert.Equal(HttpStatusCode.Accepted, untag.StatusCode);
        using (var byDigest = await Http.GetAsync($"/v2/app/manifests/{Digest.Of(one)}"))
        {
            Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
        }

        using var delete = await Http.DeleteAsync($"/v2/app/manifests/{Digest.Of(one)}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var gone = await Http.GetAsync("/v2/app/manifests/v1");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", (await RegistryFixture.ReadErrorAsync(gone)).Code);
        using var again = await Http.DeleteAsync($"/v2/app/manifests/{Digest.Of(one)}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Repository_metadata_survives_a_restart()
    {
        var manifest = await _registry.PushImageAsync("team/app", "v1", "layer");

        await _registry.RestartAsync(new RegistryOptions { MaxManifestBytes = 64 * 1024 });

        Assert.Equal(manifest, await Http.GetByteArrayAsync("/v2/team/app/manifests/v1"));
        Assert.Contains("\"v1\"", await Http.GetStringAsync("/v2/team/app/tags/list"), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_registry.Root, "registry"), ".tmp-*", SearchOption.AllDirectories));
    }

    internal static byte[] Index(params (Digest Digest, int Size, string Arch)[] children) =>
        JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = OciIndex,
            manifests = children.Select(c => new
            {
                mediaType = OciManifest,
                digest = c.Digest.ToString(),
                size = c.Size,
                platform = new { architecture = c.Arch, os = "linux" },
            }),
        });
}
