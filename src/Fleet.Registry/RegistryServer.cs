using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Registry;

/// <summary>
/// RegistryServer is a standalone Kestrel host serving one <see cref="OciRegistry"/> over plain
/// HTTP, for tests and benchmarks. fleetd does not use it: it maps the registry into its own
/// host with <see cref="RegistryEndpoints.MapFleetRegistry(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, OciRegistry)"/>.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RegistryServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Address is the base URI, e.g. http://127.0.0.1:43121.</summary>
    public Uri Address { get; }

    /// <summary>HostPort is "host:port", as image references name the registry.</summary>
    public string HostPort => $"{Address.Host}:{Address.Port}";

    /// <summary>StartAsync listens on <paramref name="endpoint"/> (port 0 picks a free one).</summary>
    public static async Task<RegistryServer> StartAsync(OciRegistry registry, IPEndPoint endpoint, LogLevel logLevel = LogLevel.Warning, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(endpoint);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(logLevel);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        app.MapFleetRegistry(registry);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RegistryServer(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>WaitForShutdownAsync returns when the host is asked to stop (SIGTERM, Ctrl-C).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
