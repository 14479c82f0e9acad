using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Fleet.Core.Specs;
using Polly;
using Polly.Retry;

namespace Fleet.Images.Distribution;

/// <summary>RegistryClientOptions configure the distribution client.</summary>
public sealed record RegistryClientOptions
{
    /// <summary>Settings say which registries may be reached over plain HTTP.</summary>
    public RegistrySettings Settings { get; init; } = new();

    /// <summary>Credentials returns the credentials for a registry (host[:port]), or null for anonymous access.</summary>
    public Func<string, RegistryCredentials?> Credentials { get; init; } = _ => null;

    /// <summary>MaxRetries is how many times a transient failure (5xx, 429, connection error) is retried.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>BaseDelay is the first backoff delay; it doubles with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>MaxRetryAfter caps a server's Retry-After.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Handler replaces the HTTP handler (tests); it must not follow redirects itself.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public string UserAgent { get; init; } = "fleet/0.1";
}

/// <summary>
/// RegistryRequest is one request to a registry, made again for every attempt (retries,
/// authentication, redirects): its path is relative to the registry (<c>/v2/…</c>) or an absolute
/// URL (an upload Location).
/// </summary>
public sealed record RegistryRequest(HttpMethod Method, string PathOrUrl)
{
    /// <summary>Configure sets headers on each attempt's message.</summary>
    public Action<HttpRequestMessage>? Configure { get; init; }

    /// <summary>Content makes a fresh body for each attempt.</summary>
    public Func<HttpContent>? Content { get; init; }
}

/// <summary>
/// RegistryClient speaks the distribution protocol's transport: it authenticates (anonymous,
/// Basic, or the bearer-token flow with tokens cached per registry and scope), retries transient
/// failures through Polly with exponential backoff honouring 429/503 Retry-After, and follows
/// redirects itself so that Authorization never reaches a different host.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private const int MaxRedirects = 10;
    private readonly RegistryClientOptions _options;
    // Built on first use: a node that never pulls (most of the time, an idle fleetd) keeps neither
    // the HTTP stack nor the Polly pipeline in memory. Plain fields, not Lazy<T>: constructing a
    // Lazy<HttpClient> already loads System.Net.Http (and a Lazy of the pipeline, Polly).
    private HttpClient? _httpClient;
    private ResiliencePipeline<HttpResponseMessage>? _retryPipeline;
    private object? _httpLock;
    private object? _retryLock;
    private readonly ConcurrentDictionary<string, AuthChallenge> _challenges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    public RegistryClient(RegistryClientOptions? options = null)
    {
        _options = options ?? new RegistryClientOptions();
    }

    private HttpClient Http => LazyInitializer.EnsureInitialized(ref _httpClient, ref _httpLock, () => CreateHttp(_options));

    private ResiliencePipeline<HttpResponseMessage> Retry => LazyInitializer.EnsureInitialized(ref _retryPipeline, ref _retryLock, CreateRetry);

    private static HttpClient CreateHttp(RegistryClientOptions options)
    {
        var handler = options.Handler ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = 16,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd(options.UserAgent);
        return http;
    }

    private ResiliencePipeline<HttpResponseMessage> CreateRetry() =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<IOException>()
                    .HandleResult(r => IsTransient(r.StatusCode)),
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseDelay,
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r ? RetryAfter(r) : null),
            })
            .Build();

    /// <summary>TokenRequests counts token fetches (tests assert the per-scope cache).</summary>
    public int TokenRequests => _tokenRequests;

    private int _tokenRequests;

    public void Dispose()
    {
        _httpClient?.Dispose();
    }

    /// <summary>BaseUri is where requests for <paramref name="registry"/> go.</summary>
    public Uri BaseUri(string registry) => RegistryHosts.BaseUri(registry, _options.Settings);

    /// <summary>PingAsync calls /v2/ and returns true when the registry speaks the v2 API (200 or 401).</summary>
    public async Task<bool> PingAsync(string registry, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(registry, [], new RegistryRequest(HttpMethod.Get, "/v2/"), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    /// <summary>
    /// SendAsync sends <paramref name="request"/> to <paramref name="registry"/> with the access
    /// <paramref name="scopes"/> needs (e.g. <c>repository:library/busybox:pull</c>), and returns
    /// the final response (headers read; the caller disposes it). 401 after authenticating throws
    /// <see cref="RegistryAuthException"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(string registry, IReadOnlyList<string> scopes, RegistryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(request);
        var baseUri = BaseUri(registry);
        var target = new Uri(baseUri, request.PathOrUrl);
        CheckPlainHttp(registry, target);
        var response = await Retry.ExecuteAsync(
            async ct =>
            {
                var authorization = await AuthorizationAsync(registry, scopes, forceRefresh: false, ct).ConfigureAwait(false);
                var r = await SendFollowingRedirectsAsync(registry, target, request, authorization, ct).ConfigureAwait(false);
                if (r.StatusCode != HttpStatusCode.Unauthorized)
                {
                    return r;
                }
                var challenge = AuthChallenge.Parse(r.Headers.WwwAuthenticate.ToString());
                r.Dispose();
                if (challenge is null || !(challenge.IsBearer || challenge.IsBasic))
                {
                    throw new RegistryAuthException($"{registry}: {request.Method} {target.AbsolutePath} answered 401 without a usable WWW-Authenticate challenge", HttpStatusCode.Unauthorized);
                }
                _challenges[registry] = challenge;
                authorization = await AuthorizationAsync(registry, scopes, forceRefresh: true, ct).ConfigureAwait(false);
                r = await SendFollowingRedirectsAsync(registry, target, request, authorization, ct).ConfigureAwait(false);
                if (r.StatusCode == HttpStatusCode.Unauthorized)
                {
                    r.Dispose();
                    var who = _options.Credentials(registry) is { } c ? $"user {c.Username}" : "anonymous access";
                    throw new RegistryAuthException($"{registry}: {request.Method} {target.AbsolutePath} refused for {who} (scope {string.Join(' ', scopes)})", HttpStatusCode.Unauthorized);
                }
                return r;
            },
            cancellationToken).ConfigureAwait(false);
        return response;
    }

    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(string registry, Uri target, RegistryRequest request, AuthenticationHeaderValue? authorization, CancellationToken cancellationToken)
    {
        var origin = target;
        for (var hop = 0; ; hop++)
        {
            using var message = new HttpRequestMessage(request.Method, target);
            request.Configure?.Invoke(message);
            if (request.Content is { } content && hop == 0)
            {
                message.Content = content();
            }
            // Authorization is for the registry only: a redirect to a blob store on another host never gets it.
            if (authorization is not null && SameOrigin(origin, target))
            {
                message.Headers.Authorization = authorization;
            }
            var response = await Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is null || (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head))
            {
                return response;
            }
            if (hop >= MaxRedirects)
            {
                response.Dispose();
                throw new RegistryException($"{registry}: more than {MaxRedirects} redirects for {origin}");
            }
            var next = new Uri(target, response.Headers.Location);
            response.Dispose();
            if (target.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
            {
                throw new RegistryException($"{registry}: refusing redirect from https to {next.Scheme}: {next}");
            }
            CheckPlainHttp(registry, next);
            target = next;
        }
    }

    /// <summary>CheckPlainHttp refuses an http URL (an upload Location, a redirect) on a host not allowed plain HTTP.</summary>
    private void CheckPlainHttp(string registry, Uri target)
    {
        if (target.Scheme == Uri.UriSchemeHttp && !RegistryHosts.AllowsPlainHttp(target.Authority, _options.Settings) && !RegistryHosts.AllowsPlainHttp(target.Host, _options.Settings))
        {
            throw new RegistryException($"{registry}: refusing plain-HTTP URL {target.GetLeftPart(UriPartial.Path)} (not loopback and not configured insecure)");
        }
        if (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps)
        {
            throw new RegistryException($"{registry}: refusing URL scheme {target.Scheme}");
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) || response.Headers.RetryAfter is not { } retryAfter)
        {
            return null;
        }
        var delay = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        if (delay is null)
        {
            return null;
        }
        return delay < TimeSpan.Zero ? TimeSpan.Zero : (delay > _options.MaxRetryAfter ? _options.MaxRetryAfter : delay);
    }

    private async Task<AuthenticationHeaderValue?> AuthorizationAsync(string registry, IReadOnlyList<string> scopes, bool forceRefresh, CancellationToken cancellationToken)
    {
        if (!_challenges.TryGetValue(registry, out var challenge))
        {
            return null;
        }
        var credentials = _options.Credentials(registry);
        if (challenge.IsBasic)
        {
            return credentials is null
                ? throw new RegistryAuthException($"{registry} requires Basic credentials and none are configured", HttpStatusCode.Unauthorized)
                : new AuthenticationHeaderValue("Basic", credentials.BasicValue);
        }
        var key = registry + " " + string.Join(' ', scopes.Order(StringComparer.Ordinal));
        if (!forceRefresh && _tokens.TryGetValue(key, out var cached) && cached.Expires > DateTimeOffset.UtcNow)
        {
            return new AuthenticationHeaderValue("Bearer", cached.Token);
        }
        var (token, expires) = await FetchTokenAsync(registry, challenge, scopes, credentials, cancellationToken).ConfigureAwait(false);
        _tokens[key] = (token, expires);
        return new AuthenticationHeaderValue("Bearer", token);
    }

    private async Task<(string Token, DateTimeOffset Expires)> FetchTokenAsync(string registry, AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        if (challenge.Realm is not { Length: > 0 } realm || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw new RegistryAuthException($"{registry}: bearer challenge has no valid realm (`{challenge.Realm}`)");
        }
        if (realmUri.Scheme == Uri.UriSchemeHttp && !RegistryHosts.AllowsPlainHttp(realmUri.Authority, _options.Settings))
        {
            throw new RegistryAuthException($"{registry}: refusing token realm over plain HTTP: {realm}");
        }
        var query = new List<string>();
        if (challenge.Service is { Length: > 0 } service)
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }
        foreach (var scope in scopes)
        {
            query.Add("scope=" + Uri.EscapeDataString(scope));
        }
        var uri = new UriBuilder(realmUri) { Query = string.Join('&', new[] { realmUri.Query.TrimStart('?') }.Where(q => q.Length > 0).Concat(query)) }.Uri;
        Interlocked.Increment(ref _tokenRequests);
        using var message = new HttpRequestMessage(HttpMethod.Get, uri);
        if (credentials is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials.BasicValue);
        }
        using var response = await Http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var who = credentials is null ? "anonymous" : $"user {credentials.Username}";
            throw new RegistryAuthException($"{registry}: token server {realmUri.GetLeftPart(UriPartial.Path)} refused {who} for scope `{string.Join(' ', scopes)}`: {(int)response.StatusCode} {response.ReasonPhrase}", response.StatusCode);
        }
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var token = (root.TryGetProperty("token", out var t) ? t.GetString() : null)
                ?? (root.TryGetProperty("access_token", out var a) ? a.GetString() : null);
            if (string.IsNullOrEmpty(token))
            {
                throw new RegistryAuthException($"{registry}: token server answered without a token");
            }
            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0 ? seconds : 60;
            var issued = root.TryGetProperty("issued_at", out var i) && DateTimeOffset.TryParse(i.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : DateTimeOffset.UtcNow;
            // Renew a little early so a token never expires in flight.
            return (token, issued + TimeSpan.FromSeconds(Math.Max(lifetime - 10, lifetime / 2)));
        }
        catch (JsonException e)
        {
            throw new RegistryAuthException($"{registry}: token server answered invalid JSON: {e.Message}");
        }
    }
}
