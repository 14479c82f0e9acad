using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Serialization;

/// <summary>
/// FleetJson holds the System.Text.Json options of Fleet's messages: camelCase fields,
/// kebab-case enum words, ids as their text, specs through <see cref="ServiceSpecDocument"/>,
/// events tagged with a stable kind word. No CLR type name is ever written.
/// </summary>
public static class FleetJson
{
    /// <summary>Options are shared, immutable once built.</summary>
    public static readonly JsonSerializerOptions Options = Build();

    private static JsonSerializerOptions Build()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { DropComputedProperties } },
            Converters =
            {
                new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false),
                new TextConverter<ServiceName>(ServiceName.Parse, n => n.Value),
                new TextConverter<NodeName>(NodeName.Parse, n => n.Value),
                new TextConverter<ReplicaId>(ReplicaId.Parse, id => id.ToString()),
                new TextConverter<ImageReference>(ImageReference.Parse, r => r.ToString()),
                new ServiceSpecConverter(),
                new ServiceEventConverter(),
                new ClusterEventConverter(),
                new RoleSetConverter(),
            },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    // Derived properties (ReplicaStatus.Service, ServiceEntry.Name, ...) are not part of the schema.
    private static void DropComputedProperties(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || info.Type.Namespace?.StartsWith("Fleet.Core", StringComparison.Ordinal) != true)
        {
            return;
        }
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i].Set is null && info.Properties[i].AssociatedParameter is null)
            {
                info.Properties.RemoveAt(i);
            }
        }
    }

    private sealed class TextConverter<T>(Func<string, T> parse, Func<T, string> format) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            parse(reader.GetString() ?? throw new JsonException($"expected a string for {typeof(T).Name}"));

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(format(value));
    }

    private sealed class ServiceSpecConverter : JsonConverter<ServiceSpec>
    {
        public override ServiceSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            (JsonSerializer.Deserialize<ServiceSpecDocument>(ref reader, options) ?? throw new JsonException("null service spec")).ToSpec();

        public override void Write(Utf8JsonWriter writer, ServiceSpec value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, ServiceSpecDocument.From(value), options);
    }

    private sealed class RoleSetConverter : JsonConverter<IReadOnlySet<NodeRole>>
    {
        public override IReadOnlySet<NodeRole> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            (JsonSerializer.Deserialize<List<NodeRole>>(ref reader, options) ?? []).ToHashSet();

        public override void Write(Utf8JsonWriter writer, IReadOnlySet<NodeRole> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Order().ToList(), options);
    }

    /// <summary>Events inside lists are written as <c>{"kind": "scaled", "event": {...}}</c>.</summary>
    private sealed class ServiceEventConverter : JsonConverter<IServiceEvent>
    {
        private sealed record Tagged(string Kind, JsonElement Event);

        public override IServiceEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var tagged = JsonSerializer.Deserialize<Tagged>(ref reader, options) ?? throw new JsonException("null event");
            return tagged.Kind switch
            {
                "applied" => (IServiceEvent?)tagged.Event.Deserialize<ServiceEvents.ServiceApplied>(options),
                "scaled" => tagged.Event.Deserialize<ServiceEvents.ServiceScaled>(options),
                "deleted" => tagged.Event.Deserialize<ServiceEvents.ServiceDeleted>(options),
                "unschedulable" => tagged.Event.Deserialize<ServiceEvents.ServiceUnschedulable>(options),
                "rebalanced" => tagged.Event.Deserialize<RebalanceEvents.ReplicaRebalanced>(options),
                "rolled-out" => tagged.Event.Deserialize<RolloutEvents.ServiceRolloutComplete>(options),
                "rollout-failed" => tagged.Event.Deserialize<RolloutEvents.ServiceRolloutFailed>(options),
                "rolled-back" => tagged.Event.Deserialize<RolloutEvents.ServiceRolledBack>(options),
                "autoscaled" => tagged.Event.Deserialize<ServiceEvents.ServiceAutoscaled>(options),
                _ => null,
            } ?? throw new JsonException($"unknown event kind `{tagged.Kind}`");
        }

        public override void Write(Utf8JsonWriter writer, IServiceEvent value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("kind", ServiceEvents.Kind(value));
            writer.WritePropertyName("event");
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
            writer.WriteEndObject();
        }
    }

    /// <summary>
    /// Service and node events in one list (the history, `events`) share the tagged form;
    /// node kinds (`cordoned`, `uncordoned`, `drain-started`) never collide with service kinds.
    /// </summary>
    private sealed class ClusterEventConverter : JsonConverter<IClusterEvent>
    {
        private sealed record Tagged(string Kind, JsonElement Event);

        public override IClusterEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var tagged = JsonSerializer.Deserialize<Tagged>(ref reader, options) ?? throw new JsonException("null event");
            return tagged.Kind switch
            {
                "applied" => (IClusterEvent?)tagged.Event.Deserialize<ServiceEvents.ServiceApplied>(options),
                "scaled" => tagged.Event.Deserialize<ServiceEvents.ServiceScaled>(options),
                "deleted" => tagged.Event.Deserialize<ServiceEvents.ServiceDeleted>(options),
                "unschedulable" => tagged.Event.Deserialize<ServiceEvents.ServiceUnschedulable>(options),
                "rebalanced" => tagged.Event.Deserialize<RebalanceEvents.ReplicaRebalanced>(options),
                "rolled-out" => tagged.Event.Deserialize<RolloutEvents.ServiceRolloutComplete>(options),
                "rollout-failed" => tagged.Event.Deserialize<RolloutEvents.ServiceRolloutFailed>(options),
                "rolled-back" => tagged.Event.Deserialize<RolloutEvents.ServiceRolledBack>(options),
                "autoscaled" => tagged.Event.Deserialize<ServiceEvents.ServiceAutoscaled>(options),
                "cordoned" => tagged.Event.Deserialize<NodeEvents.NodeCordoned>(options),
                "uncordoned" => tagged.Event.Deserialize<NodeEvents.NodeUncordoned>(options),
                "drain-started" => tagged.Event.Deserialize<NodeEvents.NodeDrainStarted>(options),
                "migration-started" => tagged.Event.Deserialize<MigrationEvents.MigrationStarted>(options),
                "migration-progressed" => tagged.Event.Deserialize<MigrationEvents.MigrationProgressed>(options),
                "migration-completed" => tagged.Event.Deserialize<MigrationEvents.MigrationCompleted>(options),
                "migration-rolled-back" => tagged.Event.Deserialize<MigrationEvents.MigrationRolledBack>(options),
                _ => null,
            } ?? throw new JsonException($"unknown event kind `{tagged.Kind}`");
        }

        public override void Write(Utf8JsonWriter writer, IClusterEvent value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("kind", ClusterEvents.Kind(value));
            writer.WritePropertyName("event");
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
            writer.WriteEndObject();
        }
    }
}

/// <summary>
/// DesiredSnapshot is the snapshot schema of <see cref="DesiredState"/>. <see cref="Nodes"/> (the
/// declared scheduling of nodes) is absent from snapshots written before it existed: none then.
/// </summary>
internal sealed record DesiredSnapshot(IReadOnlyList<ServiceEntry> Services, IReadOnlyList<IClusterEvent> History)
{
    public IReadOnlyList<NodeEntry>? Nodes { get; init; }

    /// <summary>Revisions (each service's spec generations) are absent from snapshots written before they existed: a service's entry then seeds its history (<see cref="ServiceRevisions.Of"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ServiceRevision>>? Revisions { get; init; }
    /// <summary>Migrations in flight and recently finished; absent from snapshots written before migration existed.</summary>
    public IReadOnlyList<MigrationRecord>? Migrations { get; init; }

    public static DesiredSnapshot From(DesiredState state) => new(state.Services.Values.ToList(), state.History)
    {
        Nodes = state.Nodes.Values.ToList(),
        Revisions = state.Revisions.ToDictionary(r => r.Key, r => (IReadOnlyList<ServiceRevision>)r.Value, StringComparer.Ordinal),
        Migrations = state.Migrations.Values.ToList(),
    };

    public DesiredState ToState() => DesiredState.Empty with
    {
        Services = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, Services.Select(s => KeyValuePair.Create(s.Name.Value, s))),
        Nodes = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, (Nodes ?? []).Select(n => KeyValuePair.Create(n.Name.Value, n))),
        History = [.. History],
        Revisions = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
            (Revisions ?? new Dictionary<string, IReadOnlyList<ServiceRevision>>()).Select(r => KeyValuePair.Create(r.Key, r.Value.ToImmutableList()))),
        Migrations = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, (Migrations ?? []).Select(m => KeyValuePair.Create(m.Id, m))),
    };
}
