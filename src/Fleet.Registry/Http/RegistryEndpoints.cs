using Fleet.Images.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Fleet.Registry;

/// <summary>RegistryEndpoints wires the registry into an ASP.NET Core host under <c>/v2/</c>.</summary>
public static class RegistryEndpoints
{
    /// <summary>
    /// AddFleetRegistry registers an <see cref="OciRegistry"/> singleton over the
    /// <see cref="ContentStore"/> already registered (fleetd shares its store with the image
    /// service), using the registered <see cref="TimeProvider"/> or the system clock.
    /// </summary>
    public static IServiceCollection AddFleetRegistry(this IServiceCollection services, RegistryOptions? options = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new OciRegistry(
            sp.GetRequiredService<ContentStore>(),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<OciRegistry>>()));
        return services;
    }

    /// <summary>MapFleetRegistry serves the registered <see cref="OciRegistry"/> under /v2/.</summary>
    public static IEndpointConventionBuilder MapFleetRegistry(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapFleetRegistry(endpoints.ServiceProvider.GetRequiredService<OciRegistry>());
    }

    /// <summary>
    /// MapFleetRegistry serves <paramref name="registry"/> under /v2/ (every method; the registry
    /// dispatches on the path itself because repository names contain slashes). The returned
    /// builder takes conventions such as authorization.
    /// </summary>
    public static IEndpointConventionBuilder MapFleetRegistry(this IEndpointRouteBuilder endpoints, OciRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(registry);
        var api = new RegistryApi(registry);
        var group = endpoints.MapGroup("/v2");
        group.Map("", context => api.HandleAsync(context, ""));
        group.Map("/{**path}", context => api.HandleAsync(context, context.Request.RouteValues["path"] as string ?? ""));
        return group;
    }
}
