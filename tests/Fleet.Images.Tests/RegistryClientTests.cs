using System.Net;
using System.Net.Http.Headers;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Tests;

/// <summary>Client behaviour that a well-behaved registry never shows: faults, redirects, rate limits, broken bodies.</summary>
public sealed class RegistryClientTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-client-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>FakeRegistry answers from a function and records every request.</summary>
    private sealed class FakeRegistry(Func<HttpRequestMessage, int, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            int n;
            lock (Requests)
            {
                Requests.Add(request);
                n = Requests.Count;
            }
            var response = answer(request, n);
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }

    private static RegistryClient Client(FakeRegistry fake, RegistrySettings? settings = null) => new(new RegistryClientOptions
    {
        Handler = fake,
        Settings = settings ?? new RegistrySettings(),
        BaseDelay = TimeSpan.FromMilliseconds(1),
        Credentials = _ => new RegistryCredentials("u", "p"),
    });

    [Theory]
    [InlineData("127.0.0.1:5000", "http")]
    [InlineData("localhost:5000", "http")]
    [InlineData("[::1]:5000", "http")]
    [InlineData("registry.example.com", "https")]
    [InlineData("insecure.example.com:5000", "http")]
    [InlineData("docker.io", "https")]
    public void Plain_http_only_for_loopback_and_configured_insecure_registries(string registry, string scheme)
    {
        var settings = new RegistrySettings { Insecure = ["insecure.example.com:5000"] };
        Assert.Equal(scheme, RegistryHosts.BaseUri(registry, settings).Scheme);
        Assert.Equal("https", RegistryHosts.BaseUri("127.0.0.1:5000", settings with { AllowLoopbackInsecure = false }).Scheme);
        Assert.Equal("registry-1.docker.io", RegistryHosts.BaseUri("docker.io", settings).Host);
    }

    [Fact]
    public void Challenge_parameters_are_parsed_with_quotes_and_commas()
    {
        var c = AuthChallenge.Parse("Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:a/b:pull,push\"")!;
        Assert.True(c.IsBearer);
        Assert.Equal("https://auth.example.com/token", c.Realm);
        Assert.Equal("registry.example.com", c.Service);
        Assert.Equal("repository:a/b:pull,push", c.Scope);
    }

    [Fact]
    public async Task Rate_limited_request_is_retried_after_the_servers_Retry_After()
    {
        var fake = new FakeRegistry((_, n) => n == 1
            ? new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Headers = { RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(1)) } }
            : new HttpResponseMessage(HttpStatusCode.OK));
        using var client = Client(fake);
        var started = DateTime.UtcNow;

        Assert.True(await client.PingAsync("127.0.0.1:5000"));

        Assert.Equal(2, fake.Requests.Count);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_then_reported()
    {
        var fake = new FakeRegistry((_, _) => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
        using var client = Client(fake);

        using var response = await client.SendAsync("127.0.0.1:5000", [], new RegistryRequest(HttpMethod.Get, "/v2/"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(5, fake.Requests.Count);
    }

    [Fact]
    public async Task Authorization_is_never_forwarded_to_another_host_on_redirect()
    {
        var fake = new FakeRegistry((request, _) => request.RequestUri!.Host switch
        {
            "127.0.0.1" when request.Headers.Authorization is null => new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { WwwAuthenticate = { new AuthenticationHeaderValue("Basic", "realm=\"r\"") } } },
            "127.0.0.1" => new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri("http://localhost:9/blob-store/data?sig=1") } },
            _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent("blob"u8.ToArray()) },
        });
        using var client = Client(fake);

        using var response = await client.SendAsync("127.0.0.1:5000", ["repository:a:pull"], new RegistryRequest(HttpMethod.Get, "/v2/a/blobs/sha256:00"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var toStore = fake.Requests.Single(r => r.RequestUri!.Host == "localhost");
        Assert.Null(toStore.Headers.Authorization);
        Assert.Contains(fake.Requests, r => r.RequestUri!.Host == "127.0.0.1" && r.Headers.Authorization?.Scheme == "Basic");
    }

    [Fact]
    public async Task Redirect_to_plain_http_on_a_remote_host_is_refused()
    {
        var fake = new FakeRegistry((_, _) => new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri("http://blobs.example.com/data") } });
        using var client = Client(fake);

        var e = await Assert.ThrowsAsync<RegistryException>(() => client.SendAsync("127.0.0.1:5000", [], new RegistryRequest(HttpMethod.Get, "/v2/a/blobs/sha256:00")));

        Assert.Contains("refusing plain-HTTP URL http://blobs.example.com/data", e.Message, StringComparison.Ordinal);
        Assert.Single(fake.Requests);
    }

    [Fact]
    public async Task Manifest_requests_always_send_the_accept_list()
    {
        var manifest = OciJson.Write(new ImageManifest { MediaType = MediaTypes.OciManifest, Config = Descriptor.Of(MediaTypes.OciConfig, Digest.Of("c"u8), 1) });
        var fake = new FakeRegistry((request, _) => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = request.Method == HttpMethod.Head ? new ByteArrayContent([]) : new ByteArrayContent(manifest),
            Headers = { { "Docker-Content-Digest", Digest.Of(manifest).ToString() } },
        });
        using var client = Client(fake);

        await Assert.ThrowsAnyAsync<Exception>(() => new ImagePuller(new ContentStore(_root), client).PullAsync(ImageReference.Parse("127.0.0.1:5000/a:1")));

        var manifestRequests = fake.Requests.Where(r => r.RequestUri!.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal)).ToList();
        Assert.Equal(HttpMethod.Head, manifestRequests[0].Method);
        Assert.EndsWith("/manifests/1", manifestRequests[0].RequestUri!.AbsolutePath, StringComparison.Ordinal);
        Assert.All(manifestRequests, r => Assert.Equal(MediaTypes.ManifestAccept, r.Headers.Accept.Select(a => a.MediaType)));
        Assert.EndsWith("/manifests/" + Digest.Of(manifest), manifestRequests[1].RequestUri!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interrupted_blob_download_resumes_with_Range()
    {
        var blob = System.Security.Cryptography.RandomNumberGenerator.GetBytes(500_000);
        var digest = Digest.Of(blob);
        var fake = new FakeRegistry((request, n) =>
        {
            if (n == 1)
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new BrokenStream(blob, 200_000)) };
            }
            var from = request.Headers.Range!.Ranges.Single().From!.Value;
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(blob[(int)from..]) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, blob.Length - 1, blob.Length);
            return response;
        });
        var store = new ContentStore(_root);
        using var client = Client(fake);

        await new ImagePuller(store, client).FetchBlobAsync("127.0.0.1:5000", "a", [], Descriptor.Of(MediaTypes.OciLayer, digest, blob.Length), new PullOptions(), null, default);

        Assert.Equal(blob, await store.ReadAllBytesAsync(digest));
        Assert.Equal(2, fake.Requests.Count);
        Assert.Equal(200_000, fake.Requests[1].Headers.Range!.Ranges.Single().From);
    }

    [Fact]
    public async Task Blob_larger_than_its_descriptor_is_refused()
    {
        var blob = new byte[1000];
        var fake = new FakeRegistry((_, _) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(blob) });
        using var client = Client(fake);
        var digest = Digest.Of(blob);

        var e = await Assert.ThrowsAsync<SizeMismatchException>(() => new ImagePuller(new ContentStore(_root), client).FetchBlobAsync("127.0.0.1:5000", "a", [], Descriptor.Of(MediaTypes.OciLayer, digest, 10), new PullOptions(), null, default));

        Assert.Contains(digest.ToString(), e.Message, StringComparison.Ordinal);
    }

    /// <summary>BrokenStream yields <c>cut</c> bytes, then fails like a dropped connection.</summary>
    private sealed class BrokenStream(byte[] data, int cut) : MemoryStream(data[..cut])
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = base.Read(buffer, offset, count);
            return n > 0 ? n : throw new IOException("connection reset");
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var array = new byte[buffer.Length];
            var n = Read(array, 0, array.Length);
            array.AsSpan(0, n).CopyTo(buffer.Span);
            return ValueTask.FromResult(n);
        }
    }
}
