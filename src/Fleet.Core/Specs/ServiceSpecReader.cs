using System.Text.RegularExpressions;
using Fleet.Core.Ids;
using Fleet.Core.Oci;
using Fleet.Core.Quantities;
using Fleet.Core.Yaml;

namespace Fleet.Core.Specs;

/// <summary>
/// ServiceSpecReader turns one `kind: Service` document into a <see cref="ServiceSpec"/>,
/// reporting every mistake it finds through the <see cref="FieldReader"/>. It returns null when
/// any error was found, so a half-valid spec never escapes.
/// </summary>
internal sealed partial class ServiceSpecReader(FieldReader reader)
{
    /// <summary>Minimum memory a replica may be limited to; smaller limits kill the container at start (Docker's limit is 6 MB).</summary>
    public static readonly ByteSize MinimumMemory = new(6L << 20);

    /// <summary>MaxReplicas bounds `replicas:` and `autoscale.max` to catch typos like 1000000.</summary>
    public const int MaxReplicas = 10_000;

    /// <summary>Keys are the keys a service document may have.</summary>
    public static IReadOnlyCollection<string> Keys => TopKeys;

    private static readonly string[] TopKeys =
        ["kind", "name", "image", "replicas", "command", "env", "resources", "ports", "health", "restart", "volumes", "placement", "update", "autoscale", "stateful", "stopSignal", "stopGracePeriod", "init"];

    private static readonly Dictionary<string, RestartPolicy> RestartWords = new(StringComparer.Ordinal)
    {
        ["always"] = RestartPolicy.Always,
        ["on-failure"] = RestartPolicy.OnFailure,
        ["never"] = RestartPolicy.Never,
    };

    private static readonly Dictionary<string, SpreadMode> SpreadWords = new(StringComparer.Ordinal)
    {
        ["node"] = SpreadMode.Node,
        ["none"] = SpreadMode.None,
    };

    private static readonly Dictionary<string, PortProtocol> ProtocolWords = new(StringComparer.Ordinal)
    {
        ["tcp"] = PortProtocol.Tcp,
        ["udp"] = PortProtocol.Udp,
    };

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex(@"^\s*([A-Za-z0-9][A-Za-z0-9_./-]*)\s*(==|!=)\s*(\S+)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ConstraintPattern();

    /// <summary>Read returns the spec, or null when the document has any error (all of them reported).</summary>
    public ServiceSpec? Read(Fields top)
    {
        var errorsBefore = reader.ErrorCount;
        var name = Require(top, "name", n => reader.Parsed<ServiceName>(n, "name", ServiceName.TryParse));
        var image = Require(top, "image", n => reader.ParsedReference<ImageReference>(n, "image", ImageReference.TryParse));
        var replicasNode = top.Get("replicas");
        var replicas = Optional(top, "replicas", n => reader.Int(n, "replicas", 0, MaxReplicas));
        var command = OptionalRef(top, "command", ReadCommand);
        var env = OptionalRef(top, "env", n => reader.StringMap(n, "env", CheckEnvName));
        var resources = OptionalRef(top, "resources", ReadResources);
        var ports = OptionalRef(top, "ports", ReadPorts);
        var health = OptionalRef(top, "health", ReadHealth);
        var restart = Optional(top, "restart", n => reader.Choice(n, "restart", RestartWords));
        var volumes = OptionalRef(top, "volumes", ReadVolumes);
        var placement = OptionalRef(top, "placement", ReadPlacement);
        var update = OptionalRef(top, "update", ReadUpdate);
        var autoscale = OptionalRef(top, "autoscale", ReadAutoscale);
        var stateful = Optional(top, "stateful", n => reader.Bool(n, "stateful"));
        var stopSignal = OptionalRef(top, "stopSignal", ReadStopSignal);
        var stopGracePeriod = Optional(top, "stopGracePeriod", n => reader.Parsed<TimeSpan>(n, "stopGracePeriod", DurationText.TryParse));
        var init = Optional(top, "init", n => reader.Bool(n, "init"));

        if (autoscale is not null && replicas is { } count && (count < autoscale.Min || count > autoscale.Max))
        {
            Fail(replicasNode!, $"replicas: {count} is outside the autoscale range {autoscale.Min}..{autoscale.Max}");
        }

        if (reader.ErrorCount > errorsBefore || name is null || image is null)
        {
            return null;
        }
        return new ServiceSpec
        {
            Name = name.Value,
            Image = image,
            Replicas = replicas ?? autoscale?.Min ?? ServiceSpec.DefaultReplicas,
            Command = command ?? [],
            Env = env ?? new Dictionary<string, string>(),
            Resources = resources ?? new ResourceRequest(),
            Ports = ports ?? [],
            Health = health,
            Restart = restart ?? RestartPolicy.Always,
            Volumes = volumes ?? [],
            Placement = placement ?? new Placement(),
            Update = update ?? new UpdatePolicy(),
            Autoscale = autoscale,
            Stateful = stateful ?? false,
            StopSignal = stopSignal,
            StopGracePeriod = stopGracePeriod,
            Init = init ?? false,
        };
    }

    private string? ReadStopSignal(YNode node)
    {
        var text = reader.String(node, "stopSignal");
        if (text is null)
        {
            return null;
        }
        text = text.Trim();
        if (text.Length == 0)
        {
            Fail(node, "stopSignal: must not be empty (leave it out for the image's STOPSIGNAL or SIGTERM)");
            return null;
        }
        if (!SignalNames.TryParse(text, out _, out var error))
        {
            Fail(node, $"stopSignal: {error}");
            return null;
        }
        return text;
    }

    private IReadOnlyList<string>? ReadCommand(YNode node)
    {
        var command = reader.StringList(node, "command");
        if (command is { Count: 0 })
        {
            Fail(node, "command: must not be an empty list (leave it out to run the image's own command)");
            return null;
        }
        return command;
    }

    private static string? CheckEnvName(string name) =>
        EnvNamePattern().IsMatch(name)
            ? null
            : $"invalid variable name `{name}`: use letters, digits and '_', not starting with a digit";

    private ResourceRequest? ReadResources(YNode node)
    {
        var fields = Map(node, "resources", ["cpu", "cpuLimit", "memory"]);
        if (fields is null)
        {
            return null;
        }
        var cpu = Optional(fields, "cpu", n => reader.Parsed<CpuQuantity>(n, "resources.cpu", CpuQuantity.TryParse));
        if (cpu is { Millicores: 0 })
        {
            Fail(fields.Get("cpu")!, "resources.cpu: must be more than 0 (leave it out for no request)");
        }
        var cpuLimit = Optional(fields, "cpuLimit", n => reader.Parsed<CpuQuantity>(n, "resources.cpuLimit", CpuQuantity.TryParse));
        if (cpuLimit is { Millicores: 0 })
        {
            Fail(fields.Get("cpuLimit")!, "resources.cpuLimit: must be more than 0 (leave it out for no cap)");
        }
        else if (cpuLimit is { } cap && cpu is { } request && cap.Millicores < request.Millicores)
        {
            Fail(fields.Get("cpuLimit")!, $"resources.cpuLimit: {cap} is below the request resources.cpu {request}; a replica cannot be promised more than it may use");
        }
        var memory = Optional(fields, "memory", n => reader.Parsed<ByteSize>(n, "resources.memory", ByteSize.TryParse));
        if (memory is { } bytes && bytes < MinimumMemory)
        {
            Fail(fields.Get("memory")!, $"resources.memory: {bytes} is below the minimum of {MinimumMemory}; a container cannot start with less");
        }
        return new ResourceRequest { Cpu = cpu, CpuLimit = cpuLimit, Memory = memory };
    }

    private IReadOnlyList<PortMapping>? ReadPorts(YNode node)
    {
        var items = reader.Sequence(node, "ports");
        if (items is null)
        {
            return null;
        }
        var result = new List<PortMapping>();
        var published = new Dictionary<(int, PortProtocol), int>();
        var container = new Dictionary<(int, PortProtocol), int>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"ports[{i}]";
            var fields = Map(items[i], path, ["container", "published", "protocol"]);
            if (fields is null)
            {
                continue;
            }
            var containerPort = Require(fields, "container", n => reader.Port(n, $"{path}.container"));
            var publishedPort = Optional(fields, "published", n => reader.Port(n, $"{path}.published"));
            var protocol = Optional(fields, "protocol", n => reader.Choice(n, $"{path}.protocol", ProtocolWords)) ?? PortProtocol.Tcp;
            if (containerPort is null)
            {
                continue;
            }
            var protocolName = protocol.ToString().ToLowerInvariant();
            if (container.TryGetValue((containerPort.Value, protocol), out var firstLine))
            {
                Fail(fields.Get("container")!, $"{path}.container: port {containerPort}/{protocolName} is already mapped at line {firstLine}");
            }
            container.TryAdd((containerPort.Value, protocol), fields.Get("container")!.Line);
            if (publishedPort is { } p)
            {
                if (published.TryGetValue((p, protocol), out var line))
                {
                    Fail(fields.Get("published")!, $"{path}.published: port {p}/{protocolName} is already published at line {line}");
                }
                published.TryAdd((p, protocol), fields.Get("published")!.Line);
            }
            result.Add(new PortMapping(containerPort.Value, publishedPort, protocol));
        }
        return result;
    }

    private HealthCheck? ReadHealth(YNode node)
    {
        var fields = Map(node, "health", ["http", "tcp", "exec", "interval", "timeout", "retries", "startPeriod"]);
        if (fields is null)
        {
            return null;
        }
        var probes = new[] { "http", "tcp", "exec" }.Where(fields.Has).ToList();
        HealthProbe? probe = null;
        if (probes.Count == 0)
        {
            Fail(fields.Node, "health: needs one probe: `http`, `tcp` or `exec`");
        }
        else if (probes.Count > 1)
        {
            Fail(fields.KeyNode(probes[1])!, $"health: has both `{probes[0]}` and `{probes[1]}`; give exactly one probe");
        }
        else
        {
            probe = probes[0] switch
            {
                "http" => ReadHttpProbe(fields.Get("http")!),
                "tcp" => ReadTcpProbe(fields.Get("tcp")!),
                _ => ReadExecProbe(fields.Get("exec")!),
            };
        }
        var interval = Optional(fields, "interval", n => PositiveDuration(n, "health.interval"));
        var timeout = Optional(fields, "timeout", n => PositiveDuration(n, "health.timeout"));
        var retries = Optional(fields, "retries", n => reader.Int(n, "health.retries", 1, 100));
        var startPeriod = Optional(fields, "startPeriod", n => reader.Parsed<TimeSpan>(n, "health.startPeriod", DurationText.TryParse));
        var effectiveInterval = interval ?? HealthCheck.DefaultInterval;
        if (timeout is { } t && t > effectiveInterval)
        {
            Fail(fields.Get("timeout")!, $"health.timeout: {DurationText.Format(t)} is longer than the interval {DurationText.Format(effectiveInterval)}; probes would overlap");
        }
        return probe is null
            ? null
            : new HealthCheck
            {
                Probe = probe,
                Interval = effectiveInterval,
                Timeout = timeout ?? TimeSpan.FromTicks(Math.Min(HealthCheck.DefaultTimeout.Ticks, effectiveInterval.Ticks)),
                Retries = retries ?? HealthCheck.DefaultRetries,
                StartPeriod = startPeriod ?? TimeSpan.Zero,
            };
    }

    private HttpProbe? ReadHttpProbe(YNode node)
    {
        var fields = Map(node, "health.http", ["path", "port"]);
        if (fields is null)
        {
            return null;
        }
        var path = OptionalRef(fields, "path", n => reader.String(n, "health.http.path")) ?? "/";
        if (!path.StartsWith('/'))
        {
            Fail(fields.Get("path")!, $"health.http.path: `{path}` must start with '/'");
        }
        var port = Require(fields, "port", n => reader.Port(n, "health.http.port"));
        return port is null ? null : new HttpProbe(path, port.Value);
    }

    private TcpProbe? ReadTcpProbe(YNode node)
    {
        var fields = Map(node, "health.tcp", ["port"]);
        var port = fields is null ? null : Require(fields, "port", n => reader.Port(n, "health.tcp.port"));
        return port is null ? null : new TcpProbe(port.Value);
    }

    private ExecProbe? ReadExecProbe(YNode node)
    {
        var command = reader.StringList(node, "health.exec");
        if (command is { Count: 0 })
        {
            Fail(node, "health.exec: the command must not be empty");
            return null;
        }
        return command is null ? null : new ExecProbe(command);
    }

    private IReadOnlyList<VolumeMount>? ReadVolumes(YNode node)
    {
        var items = reader.Sequence(node, "volumes");
        if (items is null)
        {
            return null;
        }
        var result = new List<VolumeMount>();
        var paths = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"volumes[{i}]";
            var fields = Map(items[i], path, ["name", "path", "readOnly"]);
            if (fields is null)
            {
                continue;
            }
            var name = Require(fields, "name", n => reader.Parsed<VolumeName>(n, $"{path}.name", VolumeName.TryParse));
            var mountPath = Require(fields, "path", n => reader.NonEmptyString(n, $"{path}.path"));
            var readOnly = Optional(fields, "readOnly", n => reader.Bool(n, $"{path}.readOnly")) ?? false;
            if (mountPath is not null)
            {
                var normalized = mountPath.TrimEnd('/');
                if (!mountPath.StartsWith('/') || normalized.Length == 0 || normalized.Split('/').Contains(".."))
                {
                    Fail(fields.Get("path")!, $"{path}.path: `{mountPath}` must be an absolute path below / without `..`");
                    continue;
                }
                if (paths.TryGetValue(normalized, out var line))
                {
                    Fail(fields.Get("path")!, $"{path}.path: `{mountPath}` is already a mount point at line {line}");
                }
                paths.TryAdd(normalized, fields.Get("path")!.Line);
                if (name is not null)
                {
                    result.Add(new VolumeMount(name.Value, normalized, readOnly));
                }
            }
        }
        return result;
    }

    private Placement? ReadPlacement(YNode node)
    {
        var fields = Map(node, "placement", ["spread", "constraints"]);
        if (fields is null)
        {
            return null;
        }
        var spread = Optional(fields, "spread", n => reader.Choice(n, "placement.spread", SpreadWords));
        var constraints = new List<PlacementConstraint>();
        if (fields.Get("constraints") is { } constraintsNode && reader.Sequence(constraintsNode, "placement.constraints") is { } items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"placement.constraints[{i}]";
                var text = reader.String(items[i], path);
                if (text is null)
                {
                    continue;
                }
                var match = ConstraintPattern().Match(text);
                if (!match.Success)
                {
                    Fail(items[i], $"{path}: invalid constraint `{text}`: expected `label == value` or `label != value`");
                    continue;
                }
                var op = match.Groups[2].Value == "==" ? ConstraintOperator.Equal : ConstraintOperator.NotEqual;
                constraints.Add(new PlacementConstraint(match.Groups[1].Value, op, match.Groups[3].Value));
            }
        }
        return new Placement { Spread = spread ?? SpreadMode.Node, Constraints = constraints };
    }

    private UpdatePolicy? ReadUpdate(YNode node)
    {
        var fields = Map(node, "update", ["maxSurge", "maxUnavailable", "autoRollback", "progressDeadline", "failureThreshold"]);
        if (fields is null)
        {
            return null;
        }
        var defaults = new UpdatePolicy();
        var maxSurge = Optional(fields, "maxSurge", n => reader.Int(n, "update.maxSurge", 0, MaxReplicas));
        var maxUnavailable = Optional(fields, "maxUnavailable", n => reader.Int(n, "update.maxUnavailable", 0, MaxReplicas));
        var autoRollback = Optional(fields, "autoRollback", n => reader.Bool(n, "update.autoRollback"));
        var progressDeadline = Optional(fields, "progressDeadline", n => PositiveDuration(n, "update.progressDeadline"));
        var failureThreshold = Optional(fields, "failureThreshold", n => reader.Int(n, "update.failureThreshold", 1, 1000));
        if ((maxSurge ?? defaults.MaxSurge) == 0 && (maxUnavailable ?? defaults.MaxUnavailable) == 0)
        {
            Fail(fields.Node, "update: maxSurge and maxUnavailable cannot both be 0; a rollout could never make progress");
        }
        return new UpdatePolicy
        {
            MaxSurge = maxSurge ?? defaults.MaxSurge,
            MaxUnavailable = maxUnavailable ?? defaults.MaxUnavailable,
            AutoRollback = autoRollback ?? defaults.AutoRollback,
            ProgressDeadline = progressDeadline ?? defaults.ProgressDeadline,
            FailureThreshold = failureThreshold ?? defaults.FailureThreshold,
        };
    }

    private AutoscalePolicy? ReadAutoscale(YNode node)
    {
        var fields = Map(node, "autoscale", ["min", "max", "cpu", "memory", "rps", "metric", "idleAfter", "scaleDownDelay", "wakeTimeout"]);
        if (fields is null)
        {
            return null;
        }
        var min = Optional(fields, "min", n => reader.Int(n, "autoscale.min", 0, MaxReplicas)) ?? 1;
        var max = Require(fields, "max", n => reader.Int(n, "autoscale.max", 1, MaxReplicas));
        var cpu = Optional(fields, "cpu", n => PositivePercentage(n, "autoscale.cpu"));
        var memory = Optional(fields, "memory", n => PositivePercentage(n, "autoscale.memory"));
        var rps = Optional(fields, "rps", n => reader.Number(n, "autoscale.rps", 0));
        var metric = OptionalRef(fields, "metric", ReadMetric);
        var idleAfter = Optional(fields, "idleAfter", n => PositiveDuration(n, "autoscale.idleAfter"));
        var scaleDownDelay = Optional(fields, "scaleDownDelay", n => reader.Parsed<TimeSpan>(n, "autoscale.scaleDownDelay", DurationText.TryParse));
        var wakeTimeout = Optional(fields, "wakeTimeout", n => PositiveDuration(n, "autoscale.wakeTimeout"));

        if (max is { } m && min > m)
        {
            Fail(fields.Get("min")!, $"autoscale.min: {min} is greater than autoscale.max {m}");
        }
        if (idleAfter is not null && min != 0)
        {
            Fail(fields.Get("idleAfter")!, "autoscale.idleAfter: applies only when autoscale.min is 0 (scale to zero)");
        }
        if (min == 0 && !fields.Has("idleAfter"))
        {
            Fail(fields.Get("min")!, "autoscale.min: 0 scales to zero and needs `idleAfter` (how long without a connection first, e.g. `idleAfter: 5m`)");
        }
        if (fields.Has("wakeTimeout") && min != 0)
        {
            Fail(fields.Get("wakeTimeout")!, "autoscale.wakeTimeout: applies only when autoscale.min is 0 (scale to zero)");
        }
        var hasTarget = fields.Has("cpu") || fields.Has("memory") || fields.Has("rps") || fields.Has("metric");
        if (!hasTarget && !(min == 0 && fields.Has("idleAfter")))
        {
            Fail(fields.Node, "autoscale: needs a target: `cpu`, `memory`, `rps` or `metric` (or `min: 0` with `idleAfter` to scale to zero)");
        }
        return max is null
            ? null
            : new AutoscalePolicy
            {
                Min = min,
                Max = max.Value,
                Cpu = cpu,
                Memory = memory,
                RequestsPerSecond = rps,
                Metric = metric,
                IdleAfter = idleAfter,
                ScaleDownDelay = scaleDownDelay ?? AutoscalePolicy.DefaultScaleDownDelay,
                WakeTimeout = wakeTimeout,
            };
    }

    private CustomMetricTarget? ReadMetric(YNode node)
    {
        var fields = Map(node, "autoscale.metric", ["port", "path", "name", "target"]);
        if (fields is null)
        {
            return null;
        }
        var port = Require(fields, "port", n => reader.Port(n, "autoscale.metric.port"));
        var path = OptionalRef(fields, "path", n => reader.String(n, "autoscale.metric.path")) ?? "/metrics";
        if (!path.StartsWith('/'))
        {
            Fail(fields.Get("path")!, $"autoscale.metric.path: `{path}` must start with '/'");
        }
        var name = Require(fields, "name", n => reader.NonEmptyString(n, "autoscale.metric.name"));
        var target = Require(fields, "target", n => reader.Number(n, "autoscale.metric.target", 0));
        return port is null || name is null || target is null ? null : new CustomMetricTarget(port.Value, path, name, target.Value);
    }

    private TimeSpan? PositiveDuration(YNode node, string path)
    {
        var value = reader.Parsed<TimeSpan>(node, path, DurationText.TryParse);
        if (value == TimeSpan.Zero)
        {
            Fail(node, $"{path}: must be longer than 0");
            return null;
        }
        return value;
    }

    private Percentage? PositivePercentage(YNode node, string path)
    {
        var value = reader.Parsed<Percentage>(node, path, Percentage.TryParse);
        if (value is { Value: <= 0 })
        {
            Fail(node, $"{path}: must be more than 0%");
            return null;
        }
        return value;
    }

    private Fields? Map(YNode node, string path, string[] allowed) => reader.Mapping(node, path, allowed);

    private static T? Require<T>(Fields fields, string key, Func<YNode, T?> read)
        where T : struct =>
        fields.Require(key) is { } node ? read(node) : null;

    private static T? Require<T>(Fields fields, string key, Func<YNode, T?> read)
        where T : class =>
        fields.Require(key) is { } node ? read(node) : null;

    private static T? Optional<T>(Fields fields, string key, Func<YNode, T?> read)
        where T : struct =>
        fields.Get(key) is { } node ? read(node) : null;

    private static T? OptionalRef<T>(Fields fields, string key, Func<YNode, T?> read)
        where T : class =>
        fields.Get(key) is { } node ? read(node) : null;

    private void Fail(YNode node, string message) => reader.Error(node, message);
}
