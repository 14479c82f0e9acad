using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

/// <summary>
/// RegistryFixture runs a real registry (Kestrel on a free loopback port) over a content store
/// in a temporary directory, with a manual clock, and removes everything on dispose.
/// </summary>
public sealed class RegistryFixture : IAsyncDisposable
{
    private RegistryFixture(string root, OciRegistry registry, RegistryServer server, ManualClock clock)
    {
        Root = root;
        Registry = registry;
        Server = server;
        Clock = clock;
        Http = new HttpClient { BaseAddress = server.Address };
    }

    public string Root { get; }

    public OciRegistry Registry { get; private set; }

    public RegistryServer Server { get; private set; }

    internal ManualClock Clock { get; }

    public HttpClient Http { get; private set; }

    internal static async Task<RegistryFixture> StartAsync(RegistryOptions? options = null, string? root = null)
    {
        root ??= Directory.CreateTempSubdirectory("fleet-registry-test-").FullName;
        var clock = new ManualClock();
        var registry = new OciRegistry(new ContentStore(root), options ?? new RegistryOptions(), clock);
        var server = await RegistryServer.StartAsync(registry, new IPEndPoint(IPAddress.Loopback, 0));
        return new RegistryFixture(root, registry, server, clock);
    }

    /// <summary>RestartAsync stops the registry and starts a new one over the same root, as after a crash or upgrade.</summary>
    public async Task RestartAsync(RegistryOptions? options = null)
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Registry.Dispose();
        Registry = new OciRegistry(new ContentStore(Root), options ?? new RegistryOptions(), Clock);
        Server = await RegistryServer.StartAsync(Registry, new IPEndPoint(IPAddress.Loopback, 0));
        Http = new HttpClient { BaseAddress = Server.Address };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Registry.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>PushBlobAsync uploads bytes with a single POST ?digest= and returns their digest.</summary>
    public async Task<Digest> PushBlobAsync(string repository, byte[] bytes)
    {
        var digest = Digest.Of(bytes);
        using var response = await Http.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return digest;
    }

    /// <summary>PutManifestAsync pushes manifest bytes under a reference.</summary>
    public async Task<HttpResponseMessage> PutManifestAsync(string repository, string reference, byte[] bytes, string mediaType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await Http.PutAsync($"/v2/{repository}/manifests/{reference}", content);
    }

    /// <summary>PushImageAsync pushes a config and layers, then an OCI manifest for them; it returns the manifest bytes.</summary>
    public async Task<byte[]> PushImageAsync(string repository, string reference, params string[] layers)
    {
        var config = Encoding.UTF8.GetBytes($$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":"{{reference}}"}""");
        var configDigest = await PushBlobAsync(repository, config);
        var layerDescriptors = new List<object>();
        foreach (var layer in layers)
        {
            var bytes = Encoding.UTF8.GetBytes(layer);
            var digest = await PushBlobAsync(repository, bytes);
            layerDescriptors.Add(new { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = digest.ToString(), size = bytes.Length });
        }
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest.ToString(), size = config.Length },
            layers = layerDescriptors,
        });
        using var response = await PutManifestAsync(repository, reference, manifest, "application/vnd.oci.image.manifest.v1+json");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return manifest;
    }

    /// <summary>ReadErrorAsync checks the spec's error JSON shape and returns the single error's code and message.</summary>
    public static async Task<(string Code, string Message, JsonElement Detail)> ReadErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = document.RootElement.GetProperty("errors");
        Assert.Equal(JsonValueKind.Array, errors.ValueKind);
        var error = Assert.Single(errors.EnumerateArray());
        return (error.GetProperty("code").GetString()!, error.GetProperty("message").GetString()!, error.GetProperty("detail").Clone());
    }
}
