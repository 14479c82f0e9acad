using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

public sealed class BlobUploadTests : IAsyncLifetime
{
    private RegistryFixture _registry = null!;

    private HttpClient Http => _registry.Http;

    public async Task InitializeAsync() => _registry = await RegistryFixture.StartAsync();

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Ping_answers_200_with_the_api_version_header()
    {
        foreach (var path in new[] { "/v2/", "/v2" })
        {
            using var response = await Http.GetAsync(path);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("registry/2.0", Assert.Single(response.Headers.GetValues("Docker-Distribution-API-Version")));
        }
    }

    [Fact]
    public async Task Monolithic_post_stores_the_blob_and_get_serves_it_with_its_digest()
    {
        var bytes = Encoding.UTF8.GetBytes("a layer, in one request");

        var digest = await _registry.PushBlobAsync("team/app", bytes);

        using var get = await Http.GetAsync($"/v2/team/app/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(bytes, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest.ToString(), Assert.Single(get.Headers.GetValues("Docker-Content-Digest")));
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/team/app/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
        Assert.True(_registry.Registry.Store.Contains(digest));
    }

    [Fact]
    public async Task Blob_get_serves_a_byte_range_and_refuses_one_past_the_end()
    {
        var digest = await _registry.PushBlobAsync("app", Encoding.UTF8.GetBytes("0123456789"));

        using var partial = new HttpRequestMessage(HttpMethod.Get, $"/v2/app/blobs/{digest}");
        partial.Headers.Range = new RangeHeaderValue(3, 6);
        using var response = await Http.SendAsync(partial);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("3456", await response.Content.ReadAsStringAsync());
        Assert.Equal("bytes 3-6/10", response.Content.Headers.ContentRange?.ToString());

        using var open = new HttpRequestMessage(HttpMethod.Get, $"/v2/app/blobs/{digest}");
        open.Headers.Range = new RangeHeaderValue(7, null);
        using var tail = await Http.SendAsync(open);
        Assert.Equal("789", await tail.Content.ReadAsStringAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, $"/v2/app/blobs/{digest}");
        beyond.Headers.Range = new RangeHeaderValue(10, 20);
        using var refused = await Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
        Assert.Equal("bytes */10", refused.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task Blob_unknown_to_the_repository_is_BLOB_UNKNOWN_even_when_another_repository_has_it()
    {
        var digest = await _registry.PushBlobAsync("owner", Encoding.UTF8.GetBytes("private"));

        using var response = await Http.GetAsync($"/v2/other/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(response);
        Assert.Equal("BLOB_UNKNOWN", code);
        Assert.Contains(digest.ToString(), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunked_upload_in_order_reports_its_range_and_commits_on_put()
    {
        var whole = Encoding.UTF8.GetBytes("first chunk|second chunk|last");
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = start.Headers.Location!.ToString();
        var uuid = Assert.Single(start.Headers.GetValues("Docker-Upload-UUID"));
        Assert.EndsWith(uuid, location, StringComparison.Ordinal);
        Assert.Equal("0-0", Assert.Single(start.Headers.GetValues("Range")));

        location = await PatchAsync(location, whole, 0, 12, HttpStatusCode.Accepted, "0-11");
        location = await PatchAsync(location, whole, 12, 25, HttpStatusCode.Accepted, "0-24");

        using var status = await Http.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-24", Assert.Single(status.Headers.GetValues("Range")));

        var digest = Digest.Of(whole);
        using var put = await Http.PutAsync($"{location}?digest={digest}", new ByteArrayContent(whole[25..]));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/app/blobs/{digest}", put.Headers.Location!.ToString());
        Assert.Equal(whole, await Http.GetByteArrayAsync($"/v2/app/blobs/{digest}"));
        using var gone = await Http.GetAsync(location);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Out_of_order_chunk_gets_416_with_the_current_range_and_writes_nothing()
    {
        var whole = Encoding.UTF8.GetBytes("0123456789abcdef");
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        var location = await PatchAsync(start.Headers.Location!.ToString(), whole, 0, 8, HttpStatusCode.Accepted, "0-7");

        using var skip = Chunk(HttpMethod.Patch, location, whole, 10, 16);
        using var refused = await Http.SendAsync(skip);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
        Assert.Equal("0-7", Assert.Single(refused.Headers.GetValues("Range")));
        Assert.Equal("BLOB_UPLOAD_INVALID", (await RegistryFixture.ReadErrorAsync(refused)).Code);

        using var replay = Chunk(HttpMethod.Patch, location, whole, 0, 8);
        using var replayed = await Http.SendAsync(replay);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, replayed.StatusCode);

        location = await PatchAsync(location, whole, 8, 16, HttpStatusCode.Accepted, "0-15");
        using var put = await Http.PutAsync($"{location}?digest={Digest.Of(whole)}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task Tampered_blob_is_refused_with_DIGEST_INVALID_naming_both_digests()
    {
        var promised = Digest.Of("the real layer"u8);
        var sent = Encoding.UTF8.GetBytes("a tampered layer");
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);

        using var put = await Http.PutAsync($"{start.Headers.Location}?digest={promised}", new ByteArrayContent(sent));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, message, detail) = await RegistryFixture.ReadErrorAsync(put);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains(promised.ToString(), message, StringComparison.Ordinal);
        Assert.Contains(Digest.Of(sent).ToString(), message, StringComparison.Ordinal);
        Assert.Equal(promised.ToString(), detail.GetProperty("expected").GetString());
        Assert.False(_registry.Registry.Store.Contains(Digest.Of(sent)));
        Assert.False(_registry.Registry.Store.Contains(promised));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_registry.Root, "ingest")));
    }

    [Fact]
    public async Task Tampered_monolithic_post_is_refused_with_DIGEST_INVALID()
    {
        var promised = Digest.Of("expected"u8);

        using var response = await Http.PostAsync($"/v2/app/blobs/uploads/?digest={promised}", new ByteArrayContent("other"u8.ToArray()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(response);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains(promised.ToString(), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunk_shorter_than_its_content_range_is_SIZE_INVALID()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        using var request = new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location)
        {
            Content = new ByteArrayContent("12345"u8.ToArray()),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", "0-9");

        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(response);
        Assert.Equal("SIZE_INVALID", code);
        Assert.Contains("Content-Length is 5", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_without_digest_and_malformed_digests_are_DIGEST_INVALID()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        using var noDigest = await Http.PutAsync(start.Headers.Location, null);
        Assert.Equal("DIGEST_INVALID", (await RegistryFixture.ReadErrorAsync(noDigest)).Code);

        using var md5 = await Http.GetAsync("/v2/app/blobs/md5:abc");
        Assert.Equal(HttpStatusCode.BadRequest, md5.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(md5);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains("md5", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_repository_name_is_NAME_INVALID()
    {
        using var response = await Http.PostAsync("/v2/Upper/Case/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(response);
        Assert.Equal("NAME_INVALID", code);
        Assert.Contains("Upper/Case", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mount_links_a_blob_the_from_repository_has()
    {
        var digest = await _registry.PushBlobAsync("base", Encoding.UTF8.GetBytes("shared layer"));

        using var mount = await Http.PostAsync($"/v2/derived/blobs/uploads/?mount={digest}&from=base", null);

        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        Assert.Equal($"/v2/derived/blobs/{digest}", mount.Headers.Location!.ToString());
        Assert.Equal(digest.ToString(), Assert.Single(mount.Headers.GetValues("Docker-Content-Digest")));
        using var get = await Http.GetAsync($"/v2/derived/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task Mount_from_a_repository_without_the_blob_starts_an_upload_instead()
    {
        // The blob is in the store (pushed to `secret`), but not in `from`: the pull check on
        // `from` must not leak it into `derived`.
        var digest = await _registry.PushBlobAsync("secret", Encoding.UTF8.GetBytes("not yours"));

        using var mount = await Http.PostAsync($"/v2/derived/blobs/uploads/?mount={digest}&from=public", null);

        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.Contains("/v2/derived/blobs/uploads/", mount.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Single(mount.Headers.GetValues("Docker-Upload-UUID"));
        using var get = await Http.GetAsync($"/v2/derived/blobs/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Deleting_a_blob_unlinks_it_from_the_repository_only()
    {
        var digest = await _registry.PushBlobAsync("one", Encoding.UTF8.GetBytes("twice"));
        await _registry.PushBlobAsync("two", Encoding.UTF8.GetBytes("twice"));

        using var delete = await Http.DeleteAsync($"/v2/one/blobs/{digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var inOne = await Http.GetAsync($"/v2/one/blobs/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, inOne.StatusCode);
        using var inTwo = await Http.GetAsync($"/v2/two/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, inTwo.StatusCode);
        using var again = await Http.DeleteAsync($"/v2/one/blobs/{digest}");
        Assert.Equal("BLOB_UNKNOWN", (await RegistryFixture.ReadErrorAsync(again)).Code);
    }

    [Fact]
    public async Task Cancelled_upload_is_forgotten()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        await PatchAsync(start.Headers.Location!.ToString(), "abc"u8.ToArray(), 0, 3, HttpStatusCode.Accepted, "0-2");

        using var cancel = await Http.DeleteAsync(start.Headers.Location);
        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);

        using var status = await Http.GetAsync(start.Headers.Location);
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await RegistryFixture.ReadErrorAsync(status)).Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_registry.Root, "ingest")));
    }

    private async Task<string> PatchAsync(string location, byte[] whole, int from, int to, HttpStatusCode expected, string expectedRange)
    {
        using var request = Chunk(HttpMethod.Patch, location, whole, from, to);
        using var response = await Http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expectedRange, Assert.Single(response.Headers.GetValues("Range")));
        return response.Headers.Location!.ToString();
    }

    private static HttpRequestMessage Chunk(HttpMethod method, string location, byte[] whole, int from, int to)
    {
        var request = new HttpRequestMessage(method, location) { Content = new ByteArrayContent(whole[from..to]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{to - 1}");
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return request;
    }
}
