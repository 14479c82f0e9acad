using System.Net;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

public sealed class SessionTests : IAsyncLifetime
{
    private static readonly RegistryOptions Options = new() { UploadTimeout = TimeSpan.FromMinutes(10), MaxOpenUploads = 3 };

    private RegistryFixture _registry = null!;

    private HttpClient Http => _registry.Http;

    public async Task InitializeAsync() => _registry = await RegistryFixture.StartAsync(Options);

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Abandoned_session_expires_with_its_partial_bytes()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        using (var patch = await Http.PatchAsync(start.Headers.Location, new ByteArrayContent("partial"u8.ToArray())))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(_registry.Root, "ingest")));

        _registry.Clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(0, _registry.Registry.Uploads.Sweep());
        using (var status = await Http.GetAsync(start.Headers.Location))
        {
            // A request is activity: the idle time starts again.
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        }
        _registry.Clock.Advance(TimeSpan.FromMinutes(11));

        Assert.Equal(1, _registry.Registry.Uploads.Sweep());
        Assert.Equal(0, _registry.Registry.Uploads.Count);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_registry.Root, "ingest")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_registry.Root, "registry", "uploads")));
        using var put = await Http.PutAsync($"{start.Headers.Location}?digest={Digest.Of("partial"u8)}", null);
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await RegistryFixture.ReadErrorAsync(put)).Code);
    }

    [Fact]
    public async Task Expired_session_is_unknown_even_before_a_sweep()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        _registry.Clock.Advance(TimeSpan.FromMinutes(11));

        using var patch = await Http.PatchAsync(start.Headers.Location, new ByteArrayContent("late"u8.ToArray()));

        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await RegistryFixture.ReadErrorAsync(patch)).Code);
    }

    [Fact]
    public async Task Too_many_open_sessions_get_429_until_one_expires()
    {
        for (var i = 0; i < Options.MaxOpenUploads; i++)
        {
            using var ok = await Http.PostAsync("/v2/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        }

        using var refused = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var (code, message, _) = await RegistryFixture.ReadErrorAsync(refused);
        Assert.Equal("TOOMANYREQUESTS", code);
        Assert.Contains("limit is 3", message, StringComparison.Ordinal);
        Assert.True(refused.Headers.Contains("Retry-After"));

        _registry.Clock.Advance(TimeSpan.FromMinutes(11));
        using var afterExpiry = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, afterExpiry.StatusCode);
    }

    [Fact]
    public async Task Session_in_another_repository_is_unknown()
    {
        using var start = await Http.PostAsync("/v2/mine/blobs/uploads/", null);
        var uuid = Assert.Single(start.Headers.GetValues("Docker-Upload-UUID"));

        using var status = await Http.GetAsync($"/v2/theirs/blobs/uploads/{uuid}");

        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await RegistryFixture.ReadErrorAsync(status)).Code);
    }

    [Fact]
    public async Task Upload_resumes_after_a_restart()
    {
        using var start = await Http.PostAsync("/v2/app/blobs/uploads/", null);
        var location = start.Headers.Location!.ToString();
        using (var patch = await Http.PatchAsync(location, new ByteArrayContent("before "u8.ToArray())))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }

        await _registry.RestartAsync(Options);

        using var status = await Http.GetAsync(location);
        Assert.Equal("0-6", Assert.Single(status.Headers.GetValues("Range")));
        using var put = await Http.PutAsync($"{location}?digest={Digest.Of("before after"u8)}", new ByteArrayContent("after"u8.ToArray()));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }
}
