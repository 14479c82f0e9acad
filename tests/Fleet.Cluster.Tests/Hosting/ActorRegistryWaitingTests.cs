using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>
/// ActorRegistryWaitingTests: waiting for a registry entry ends when it is registered, however
/// the registration is made, and a cancelled wait ends with the cancellation.
/// </summary>
public sealed class ActorRegistryWaitingTests
{
    private sealed class Key;

    [Fact]
    public async Task An_entry_registered_while_waiting_without_overwrite_ends_the_wait()
    {
        var registry = new ActorRegistry();
        var waiting = registry.WaitForAsync<Key>(CancellationToken.None);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);

        registry.Register<Key>(ActorRefs.Nobody);

        Assert.Same(ActorRefs.Nobody, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void An_entry_already_there_is_returned_at_once()
    {
        var registry = new ActorRegistry();
        registry.Register<Key>(ActorRefs.Nobody);
        Assert.True(registry.WaitForAsync<Key>(CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_cancelled_wait_ends_with_the_cancellation()
    {
        var registry = new ActorRegistry();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => registry.WaitForAsync<Key>(cancel.Token));
    }
}
