using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>IServiceCommand is a request to change the desired state; <see cref="DesiredState.Decide"/> judges it.</summary>
public interface IServiceCommand
{
    /// <summary>Service is the service the command is about.</summary>
    ServiceName Service { get; }

    /// <summary>At is when the command was received; the events it produces carry it (the state has no clock).</summary>
    DateTimeOffset At { get; }
}

/// <summary>ServiceCommands are the commands on the desired state of services.</summary>
public static class ServiceCommands
{
    /// <summary>Apply declares a service: creates it, or replaces its spec when it changed.</summary>
    public sealed record Apply(ServiceSpec Spec, DateTimeOffset At) : IServiceCommand
    {
        public ServiceName Service => Spec.Name;
    }

    /// <summary>Scale sets the desired replica count of an existing service.</summary>
    public sealed record Scale(ServiceName Service, int Replicas, DateTimeOffset At) : IServiceCommand;

    /// <summary>Delete removes a service from the desired state; its replicas are then stopped.</summary>
    public sealed record Delete(ServiceName Service, DateTimeOffset At) : IServiceCommand;
}
