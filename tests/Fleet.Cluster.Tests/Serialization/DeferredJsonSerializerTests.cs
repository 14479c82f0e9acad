using Akka.Actor;
using Akka.Configuration;
using Akka.Util;
using Fleet.Cluster.Serialization;

namespace Fleet.Cluster.Tests.Serialization;

/// <summary>The "json" fallback serializer is built on first use and then is Akka's own.</summary>
public sealed class DeferredJsonSerializerTests
{
    public sealed record Unbound(string Name, int Count);

    [Fact]
    public async Task The_fallback_is_deferred_until_used_and_round_trips_like_akkas_json()
    {
        using var system = ActorSystem.Create("deferred-json", ConfigurationFactory.ParseString(DeferredJsonSerializer.Hocon));
        try
        {
            var message = new Unbound("web", 3);
            var serializer = Assert.IsType<DeferredJsonSerializer>(system.Serialization.FindSerializerFor(message));
            Assert.False(serializer.IsBuilt);
            Assert.Equal(1, serializer.Identifier);

            var bytes = serializer.ToBinary(message);
            var back = system.Serialization.Deserialize(bytes, serializer.Identifier, typeof(Unbound).TypeQualifiedName());

            Assert.True(serializer.IsBuilt);
            Assert.Equal(message, back);
            Assert.Contains("\"Name\":\"web\"", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
