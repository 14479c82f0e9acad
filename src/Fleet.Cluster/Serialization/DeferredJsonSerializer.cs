using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Fleet.Cluster.Serialization;

/// <summary>
/// DeferredJsonSerializer stands in for Akka's "json" serializer, the fallback for types bound to
/// no other serializer, and builds Akka's Newtonsoft.Json serializer on first use. Akka creates
/// every configured serializer when the ActorSystem starts, and in a Fleet node nothing normally
/// reaches the fallback (Fleet's messages have <see cref="FleetSerializer"/>, Akka's its own), so
/// an idle fleetd would keep Newtonsoft.Json loaded for nothing (≈ 2 MB of RSS).
/// </summary>
public sealed class DeferredJsonSerializer : Serializer
{
    /// <summary>Hocon puts this serializer in the place of Akka's "json" one.</summary>
    public static readonly string Hocon =
        $"akka.actor.serializers.json = \"{typeof(DeferredJsonSerializer).FullName}, {typeof(DeferredJsonSerializer).Assembly.GetName().Name}\"";

    // Typed as the base class so that loading this type does not load Newtonsoft.Json.
    private readonly Lazy<Serializer> _json;

    /// <summary>Akka calls this with the "json" serializer's settings.</summary>
    public DeferredJsonSerializer(ExtendedActorSystem system, Config config)
        : base(system) =>
        _json = new(() => new NewtonSoftJsonSerializer(system, config), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Identifier is Akka's json serializer's, so that bytes it wrote stay readable.</summary>
    public override int Identifier => 1;

    /// <inheritdoc/>
    public override bool IncludeManifest => true;

    /// <summary>IsBuilt is true once something used the fallback.</summary>
    public bool IsBuilt => _json.IsValueCreated;

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj) => _json.Value.ToBinary(obj);

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, Type type) => _json.Value.FromBinary(bytes, type);
}
