using Fleet.Core.Yaml;

namespace Fleet.Core.Specs;

/// <summary>SpecSource is one file's text and the name its diagnostics carry.</summary>
public sealed record SpecSource(string FileName, string Text);

/// <summary>
/// SpecSet is what a set of YAML files declares: services and at most one cluster, with every
/// diagnostic found. When <see cref="IsValid"/> is false, the specs hold only the documents that
/// were correct on their own and must not be applied.
/// </summary>
public sealed record SpecSet(
    IReadOnlyList<ServiceSpec> Services,
    IReadOnlyList<ClusterSpec> Clusters,
    IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool IsValid => !Diagnostics.Any(d => d.IsError);

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);
}

/// <summary>
/// SpecLoader reads Fleet's YAML documents (`kind: Service`, `kind: Cluster`; several per file,
/// separated by `---`) and checks them one by one and together — a service name declared twice
/// or a published port claimed by two services is an error, like a compiler's duplicate symbol.
/// It never touches the file system: callers pass text in.
/// </summary>
public static class SpecLoader
{
    private static readonly string[] Kinds = [ServiceSpec.Kind, ClusterSpec.Kind];

    /// <summary>Load checks one file.</summary>
    public static SpecSet Load(string fileName, string text) => Load([new SpecSource(fileName, text)]);

    /// <summary>Load checks several files as one set.</summary>
    public static SpecSet Load(IEnumerable<SpecSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var diagnostics = new List<Diagnostic>();
        var services = new List<(ServiceSpec Spec, SourceLocation At)>();
        var clusters = new List<(ClusterSpec Spec, SourceLocation At)>();
        foreach (var source in sources)
        {
            var reader = new FieldReader(source.FileName, diagnostics);
            foreach (var document in YamlTreeParser.Parse(source.Text, source.FileName, diagnostics))
            {
                ReadDocument(reader, document, services, clusters);
            }
        }
        CheckAcrossDocuments(services, clusters, diagnostics);
        // Stable sort: problems at one position keep the order they were found in.
        var sorted = diagnostics
            .OrderBy(d => d.Location.File, StringComparer.Ordinal)
            .ThenBy(d => d.Location.Line)
            .ThenBy(d => d.Location.Column)
            .ToList();
        return new SpecSet(
            services.Select(s => s.Spec).ToList(),
            clusters.Select(c => c.Spec).ToList(),
            sorted);
    }

    private static void ReadDocument(
        FieldReader reader,
        YDocument document,
        List<(ServiceSpec, SourceLocation)> services,
        List<(ClusterSpec, SourceLocation)> clusters)
    {
        if (document.Root is null || document.Root is YScalar { IsNull: true })
        {
            return; // an empty document, e.g. after a trailing `---`
        }
        if (document.Root is not YMapping root)
        {
            reader.Error(document.Root, $"expected a mapping with `kind:` at the top of the document, got {document.Root.Describe()}");
            return;
        }
        var kindEntry = root.Entries.FirstOrDefault(e => e.Key.Value == "kind");
        if (kindEntry is null)
        {
            reader.Error(root, $"missing required key `kind` ({string.Join(" or ", Kinds)})");
            return;
        }
        var kind = reader.String(kindEntry.Value, "kind");
        var at = new SourceLocation(reader.File, root.Line, root.Column);
        switch (kind)
        {
            case null:
                return;
            case ServiceSpec.Kind:
                var serviceFields = reader.Mapping(root, "", ServiceSpecReader.Keys);
                if (serviceFields is not null && new ServiceSpecReader(reader).Read(serviceFields) is { } service)
                {
                    services.Add((service, at));
                }
                return;
            case ClusterSpec.Kind:
                var clusterFields = reader.Mapping(root, "", ClusterSpecReader.Keys);
                if (clusterFields is not null && new ClusterSpecReader(reader).Read(clusterFields) is { } cluster)
                {
                    clusters.Add((cluster, at));
                }
                return;
            default:
                reader.Error(kindEntry.Value, $"kind: unknown kind `{kind}`; expected {string.Join(" or ", Kinds.Select(k => $"`{k}`"))}{Suggestions.DidYouMean(kind, Kinds)}");
                return;
        }
    }

    private static void CheckAcrossDocuments(
        List<(ServiceSpec Spec, SourceLocation At)> services,
        List<(ClusterSpec Spec, SourceLocation At)> clusters,
        List<Diagnostic> diagnostics)
    {
        var names = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var ports = new Dictionary<(int, PortProtocol), (string Service, SourceLocation At)>();
        foreach (var (spec, at) in services)
        {
            if (!names.TryAdd(spec.Name.Value, at))
            {
                diagnostics.Add(new Diagnostic(at, DiagnosticSeverity.Error, $"service `{spec.Name}` is already declared at {names[spec.Name.Value]}"));
                continue;
            }
            foreach (var port in spec.Ports.Where(p => p.Published is not null))
            {
                var key = (port.Published!.Value, port.Protocol);
                if (ports.TryGetValue(key, out var owner))
                {
                    diagnostics.Add(new Diagnostic(at, DiagnosticSeverity.Error,
                        $"service `{spec.Name}` publishes port {port.Published}/{port.Protocol.ToString().ToLowerInvariant()}, already published by service `{owner.Service}` at {owner.At}"));
                }
                else
                {
                    ports[key] = (spec.Name.Value, at);
                }
            }
        }
        foreach (var (_, at) in clusters.Skip(1))
        {
            diagnostics.Add(new Diagnostic(at, DiagnosticSeverity.Error, $"a second `kind: Cluster` document; the first is at {clusters[0].At}"));
        }
    }
}
