using Akka.Actor;
using Akka.Hosting;

namespace Fleet.Cluster.Hosting;

/// <summary>
/// ActorRegistryWaiting waits for a registry entry by looking again every few milliseconds.
/// Akka.Hosting's own <c>ActorRegistry.GetAsync</c> looks the entry up, then adds a waiter: a
/// registration that lands between the two notifies nobody and the wait never ends. On a busy
/// machine a fleetd's mesh feeder (started beside the ActorSystem) sat so for good, silently —
/// its published ports never opened — twice in CI; polling cannot miss the entry.
/// </summary>
public static class ActorRegistryWaiting
{
    /// <summary>PollInterval is how often a missing entry is looked up again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>WaitForAsync returns the actor registered under <typeparamref name="TKey"/> once there is one.</summary>
    public static async Task<IActorRef> WaitForAsync<TKey>(this IReadOnlyActorRegistry registry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        while (true)
        {
            if (registry.TryGet<TKey>(out var actor))
            {
                return actor;
            }
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}
