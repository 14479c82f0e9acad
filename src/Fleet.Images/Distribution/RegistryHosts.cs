using System.Net;
using Fleet.Core.Specs;

namespace Fleet.Images.Distribution;

/// <summary>
/// RegistryHosts maps a reference's registry to a base URI: https always, plain http only for a
/// loopback registry (when the cluster allows it) or one listed as insecure; docker.io is served
/// by registry-1.docker.io.
/// </summary>
public static class RegistryHosts
{
    /// <summary>BaseUri returns the scheme and authority requests go to.</summary>
    public static Uri BaseUri(string registry, RegistrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(settings);
        var host = registry == Fleet.Core.Ids.ImageReference.DefaultRegistry ? "registry-1.docker.io" : registry;
        var scheme = AllowsPlainHttp(registry, settings) ? "http" : "https";
        return new Uri($"{scheme}://{host}/");
    }

    /// <summary>AllowsPlainHttp is true for a loopback registry (if allowed) or one configured insecure.</summary>
    public static bool AllowsPlainHttp(string registry, RegistrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(settings);
        var host = HostOf(registry);
        if (settings.Insecure.Any(i => string.Equals(i, registry, StringComparison.OrdinalIgnoreCase) || string.Equals(i, host, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }
        return settings.AllowLoopbackInsecure && IsLoopback(host);
    }

    /// <summary>IsLoopback is true for localhost, 127.0.0.0/8 and ::1.</summary>
    public static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>HostOf strips the port from host[:port] (keeping an IPv6 literal's brackets off).</summary>
    public static string HostOf(string registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (registry.StartsWith('['))
        {
            var close = registry.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? registry[1..close] : registry;
        }
        var colon = registry.LastIndexOf(':');
        return colon > 0 ? registry[..colon] : registry;
    }
}
