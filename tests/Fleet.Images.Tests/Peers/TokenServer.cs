using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Fleet.Images.Tests.Peers;

/// <summary>
/// TokenServer is a small docker-registry token service on loopback (HttpListener): it checks
/// Basic credentials (anonymous gets pull only), grants the requested repository scopes, and
/// signs RS256 JWTs with a self-signed certificate the registry trusts (x5c header).
/// </summary>
internal sealed class TokenServer : IDisposable
{
    public const string Service = "fleet-test-registry";
    public const string Issuer = "fleet-test-issuer";

    private readonly HttpListener _listener;
    private readonly RSA _key;
    private readonly X509Certificate2 _certificate;
    private readonly string _user;
    private readonly string _password;
    private readonly Task _loop;
    private int _requests;

    private TokenServer(HttpListener listener, int port, RSA key, X509Certificate2 certificate, string user, string password)
    {
        _listener = listener;
        _key = key;
        _certificate = certificate;
        _user = user;
        _password = password;
        Realm = $"http://127.0.0.1:{port}/token";
        _loop = Task.Run(LoopAsync);
    }

    public string Realm { get; }

    public int Requests => _requests;

    /// <summary>Scopes lists every scope asked for, in order.</summary>
    public List<string> Scopes { get; } = [];

    public string CertificatePem => _certificate.ExportCertificatePem();

    public static TokenServer Start(string user, string password)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=fleet-test-token", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        for (var attempt = 0; ; attempt++)
        {
            var port = TestPorts.Free();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new TokenServer(listener, port, key, certificate, user, password);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                Handle(context);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    private void Handle(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        var authorized = false;
        var header = context.Request.Headers["Authorization"];
        if (header is not null)
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_user}:{_password}"));
            if (header != expected)
            {
                context.Response.StatusCode = 401;
                return;
            }
            authorized = true;
        }
        var access = new List<object>();
        foreach (var scope in context.Request.QueryString.GetValues("scope") ?? [])
        {
            lock (Scopes)
            {
                Scopes.Add(scope);
            }
            var parts = scope.Split(':');
            if (parts.Length != 3)
            {
                continue;
            }
            var actions = parts[2].Split(',').Where(a => authorized || a == "pull").ToArray();
            access.Add(new { type = parts[0], name = parts[1], actions });
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = authorized ? _user : "",
            ["aud"] = Service,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var jwtHeader = new Dictionary<string, object>
        {
            ["typ"] = "JWT",
            ["alg"] = "RS256",
            ["x5c"] = new[] { Convert.ToBase64String(_certificate.RawData) },
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(jwtHeader)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var token = signingInput + "." + Base64Url(signature);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { token, access_token = token, expires_in = 300, issued_at = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) });
        context.Response.ContentType = "application/json";
        context.Response.OutputStream.Write(body);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _certificate.Dispose();
        _key.Dispose();
    }
}
