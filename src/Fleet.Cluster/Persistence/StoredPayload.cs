using Akka.Actor;
using Akka.Serialization;
using Akka.Util;

namespace Fleet.Cluster.Persistence;

/// <summary>
/// StoredPayload is an event or snapshot as a row holds it: the serializer's bytes, its id, and the
/// manifest that picks the type on the way back — the columns Akka.Persistence.Sql writes.
/// </summary>
internal readonly record struct StoredPayload(byte[] Bytes, int SerializerId, string Manifest)
{
    /// <summary>Of serializes <paramref name="payload"/> with the serializer Akka binds to its type.</summary>
    public static StoredPayload Of(ActorSystem system, object payload)
    {
        var serializer = system.Serialization.FindSerializerFor(payload);
        var manifest = serializer switch
        {
            SerializerWithStringManifest named => named.Manifest(payload),
            _ when serializer.IncludeManifest => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        // Actor refs inside a payload are written with this system's address, as Akka's own plugins do.
        var bytes = Akka.Serialization.Serialization.WithTransport((ExtendedActorSystem)system, () => serializer.ToBinary(payload));
        return new StoredPayload(bytes, serializer.Identifier, manifest);
    }

    /// <summary>ToObject reads the payload back with the serializer that wrote it.</summary>
    public object ToObject(ActorSystem system) => system.Serialization.Deserialize(Bytes, SerializerId, Manifest);
}
