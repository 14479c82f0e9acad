using System.Net;
using System.Text;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

public sealed class ListingTests : IAsyncLifetime
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    private RegistryFixture _registry = null!;

    private HttpClient Http => _registry.Http;

    public async Task InitializeAsync() => _registry = await RegistryFixture.StartAsync();

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Tags_are_listed_in_lexical_order_and_paginated_with_a_link_to_the_next_page()
    {
        var manifest = await _registry.PushImageAsync("app", "b");
        foreach (var tag in new[] { "a", "c", "d", "B" })
        {
            using var put = await _registry.PutManifestAsync("app", tag, manifest, OciManifest);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        Assert.Equal(["B", "a", "b", "c", "d"], await TagsAsync("/v2/app/tags/list"));

        using var first = await Http.GetAsync("/v2/app/tags/list?n=2");
        Assert.Equal(["B", "a"], await ReadTagsAsync(first));
        var link = Assert.Single(first.Headers.GetValues("Link"));
        Assert.Equal("</v2/app/tags/list?n=2&last=a>; rel=\"next\"", link);

        using var second = await Http.GetAsync("/v2/app/tags/list?n=2&last=a");
        Assert.Equal(["b", "c"], await ReadTagsAsync(second));
        using var third = await Http.GetAsync("/v2/app/tags/list?n=2&last=c");
        Assert.Equal(["d"], await ReadTagsAsync(third));
        Assert.False(third.Headers.Contains("Link"));

        Assert.Empty(await TagsAsync("/v2/app/tags/list?n=0"));
        Assert.Equal(["c", "d"], await TagsAsync("/v2/app/tags/list?last=b"));
    }

    [Fact]
    public async Task Tags_of_an_unknown_repository_is_NAME_UNKNOWN()
    {
        using var response = await Http.GetAsync("/v2/nobody/tags/list");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var (code, message, detail) = await RegistryFixture.ReadErrorAsync(response);
        Assert.Equal("NAME_UNKNOWN", code);
        Assert.Contains("nobody", message, StringComparison.Ordinal);
        Assert.Equal("nobody", detail.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Referrers_is_an_empty_index_for_a_subject_nothing_refers_to()
    {
        using var response = await Http.GetAsync($"/v2/app/referrers/{Digest.Of("nothing"u8)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.oci.image.index.v1+json", response.Content.Headers.ContentType?.MediaType);
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, index.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(0, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task Referrers_lists_manifests_with_that_subject_filtered_by_artifact_type()
    {
        var image = await _registry.PushImageAsync("app", "v1", "layer");
        var subject = Digest.Of(image);
        var signature = await PushReferrerAsync(subject, image.Length, "application/vnd.example.signature", "sig");
        var sbom = await PushReferrerAsync(subject, image.Length, "application/spdx+json", "sbom");

        using var all = await Http.GetAsync($"/v2/app/referrers/{subject}");
        var listed = await DescriptorsAsync(all);
        Assert.Equal(2, listed.Count);
        Assert.Contains(listed, d => d.Digest == signature.ToString() && d.ArtifactType == "application/vnd.example.signature");
        Assert.Contains(listed, d => d.Digest == sbom.ToString() && d.ArtifactType == "application/spdx+json");
        Assert.False(all.Headers.Contains("OCI-Filters-Applied"));

        using var filtered = await Http.GetAsync($"/v2/app/referrers/{subject}?artifactType=application/spdx%2Bjson");
        var only = Assert.Single(await DescriptorsAsync(filtered));
        Assert.Equal(sbom.ToString(), only.Digest);
        Assert.Equal("artifactType", Assert.Single(filtered.Headers.GetValues("OCI-Filters-Applied")));

        using var delete = await Http.DeleteAsync($"/v2/app/manifests/{signature}");
        using var after = await Http.GetAsync($"/v2/app/referrers/{subject}");
        Assert.Single(await DescriptorsAsync(after));
    }

    [Fact]
    public async Task Catalog_lists_repositories_including_nested_ones()
    {
        await _registry.PushImageAsync("b/nested/deep", "v1");
        await _registry.PushImageAsync("a", "v1");
        await _registry.PushImageAsync("b", "v1");

        using var catalog = JsonDocument.Parse(await Http.GetStringAsync("/v2/_catalog"));

        Assert.Equal(["a", "b", "b/nested/deep"], catalog.RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()!));
    }

    [Fact]
    public async Task Referenced_blobs_are_every_linked_layer_config_and_manifest_for_the_garbage_collector()
    {
        var manifest = await _registry.PushImageAsync("app", "v1", "layer a", "layer b");
        await _registry.PushBlobAsync("other", Encoding.UTF8.GetBytes("loose blob"));

        var referenced = _registry.Registry.ReferencedBlobs();

        Assert.Contains(Digest.Of(manifest), referenced);
        Assert.Contains(Digest.Of("layer a"u8), referenced);
        Assert.Contains(Digest.Of("loose blob"u8), referenced);
        Assert.Equal(_registry.Registry.Store.List().ToHashSet(), referenced);
    }

    private async Task<Digest> PushReferrerAsync(Digest subject, int subjectSize, string artifactType, string content)
    {
        var empty = await _registry.PushBlobAsync("app", "{}"u8.ToArray());
        var blob = await _registry.PushBlobAsync("app", Encoding.UTF8.GetBytes(content));
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = OciManifest,
            artifactType,
            config = new { mediaType = "application/vnd.oci.empty.v1+json", digest = empty.ToString(), size = 2 },
            layers = new[] { new { mediaType = "application/octet-stream", digest = blob.ToString(), size = content.Length } },
            subject = new { mediaType = OciManifest, digest = subject.ToString(), size = subjectSize },
            annotations = new Dictionary<string, string> { ["kind"] = content },
        });
        using var put = await _registry.PutManifestAsync("app", Digest.Of(manifest).ToString(), manifest, OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(subject.ToString(), Assert.Single(put.Headers.GetValues("OCI-Subject")));
        return Digest.Of(manifest);
    }

    private static async Task<List<(string Digest, string? ArtifactType)>> DescriptorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return index.RootElement.GetProperty("manifests").EnumerateArray()
            .Select(d => (d.GetProperty("digest").GetString()!, d.TryGetProperty("artifactType", out var t) ? t.GetString() : null))
            .ToList();
    }

    private async Task<List<string>> TagsAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        return await ReadTagsAsync(response);
    }

    private static async Task<List<string>> ReadTagsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return list.RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString()!).ToList();
    }
}
