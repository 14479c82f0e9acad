using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

/// <summary>Every error path of a service document, each with the exact place it is reported.</summary>
public sealed class ServiceSpecErrorTests
{
    private const string Head = "kind: Service\nname: web\nimage: busybox\n";

    [Theory]
    // wrong types
    [InlineData("replicas: three\n", 4, 11, "replicas: expected a whole number, got `three`")]
    [InlineData("replicas: \"3\"\n", 4, 11, "replicas: expected a whole number, got `3`")]
    [InlineData("replicas: [3]\n", 4, 11, "replicas: expected a whole number, got a list")]
    [InlineData("replicas: 2.5\n", 4, 11, "expected a whole number")]
    [InlineData("command: httpd -f\n", 4, 10, "command: expected a list, got `httpd -f`")]
    [InlineData("command: []\n", 4, 10, "command: must not be an empty list")]
    [InlineData("command: [a, [b]]\n", 4, 14, "command[1]: expected a string, got a list")]
    [InlineData("env: [A=1]\n", 4, 6, "env: expected a mapping (name: value), got a list")]
    [InlineData("env: { 1A: x }\n", 4, 8, "env: invalid variable name `1A`")]
    [InlineData("env: { A: [x] }\n", 4, 11, "env.A: expected a string, got a list")]
    [InlineData("resources: 64Mi\n", 4, 12, "resources: expected a mapping (key: value), got `64Mi`")]
    [InlineData("stateful: maybe\n", 4, 11, "stateful: expected true or false, got `maybe`")]
    [InlineData("stateful: \"true\"\n", 4, 11, "stateful: expected true or false")]
    [InlineData("stopSignal: SIGFOO\n", 4, 13, "stopSignal: invalid signal `SIGFOO`: expected a name like SIGTERM or a number from 1 to 64")]
    [InlineData("stopSignal: 65\n", 4, 13, "stopSignal: invalid signal `65`")]
    [InlineData("stopSignal: \"\"\n", 4, 13, "stopSignal: must not be empty")]
    [InlineData("init: yes please\n", 4, 7, "init: expected true or false, got `yes please`")]
    [InlineData("stopGracePeriod: soon\n", 4, 18, "stopGracePeriod: invalid duration `soon`")]
    [InlineData("ports: { container: 80 }\n", 4, 8, "ports: expected a list, got a mapping")]
    [InlineData("ports: [80]\n", 4, 9, "ports[0]: expected a mapping (key: value), got `80`")]
    // negative and out-of-range numbers
    [InlineData("replicas: -1\n", 4, 11, "replicas: must be 0 or more, got -1")]
    [InlineData("replicas: 100000\n", 4, 11, "replicas: must be at most 10000, got 100000")]
    [InlineData("ports: [{ container: 0 }]\n", 4, 22, "ports[0].container: must be 1 or more, got 0")]
    [InlineData("ports: [{ container: 70000 }]\n", 4, 22, "ports[0].container: must be at most 65535, got 70000")]
    [InlineData("ports: [{ container: 80, published: 65536 }]\n", 4, 37, "ports[0].published: must be at most 65535")]
    [InlineData("ports: [{ published: 80 }]\n", 4, 9, "missing required key `container` in `ports[0]`")]
    [InlineData("ports: [{ container: 80, protocol: sctp }]\n", 4, 36, "ports[0].protocol: unknown value `sctp`; expected one of `tcp`, `udp`")]
    // sizes, durations, cpu, percentages
    [InlineData("resources: { memory: 64MB }\n", 4, 22, "resources.memory: invalid size `64MB`")]
    [InlineData("resources: { memory: 1Ki }\n", 4, 22, "resources.memory: 1Ki is below the minimum of 6Mi")]
    [InlineData("resources: { cpu: lots }\n", 4, 19, "resources.cpu: invalid cpu `lots`")]
    [InlineData("resources: { cpu: 0 }\n", 4, 19, "resources.cpu: must be more than 0")]
    [InlineData("resources: { cpuLimit: 0 }\n", 4, 24, "resources.cpuLimit: must be more than 0")]
    [InlineData("resources: { cpu: 500m, cpuLimit: 100m }\n", 4, 35, "resources.cpuLimit: 100m is below the request resources.cpu 500m")]
    [InlineData("health: { tcp: { port: 80 }, interval: 2 }\n", 4, 40, "health.interval: invalid duration `2`")]
    [InlineData("health: { tcp: { port: 80 }, interval: 0s }\n", 4, 40, "health.interval: must be longer than 0")]
    [InlineData("health: { tcp: { port: 80 }, interval: 1s, timeout: 2s }\n", 4, 53, "health.timeout: 2s is longer than the interval 1s")]
    [InlineData("health: { tcp: { port: 80 }, retries: 0 }\n", 4, 39, "health.retries: must be 1 or more, got 0")]
    [InlineData("autoscale: { max: 3, cpu: 60 }\n", 4, 27, "autoscale.cpu: invalid percentage `60`")]
    [InlineData("autoscale: { max: 3, cpu: 0% }\n", 4, 27, "autoscale.cpu: must be more than 0%")]
    [InlineData("autoscale: { max: 3, rps: 0 }\n", 4, 27, "autoscale.rps: must be more than 0, got 0")]
    // health probes
    [InlineData("health: { interval: 2s }\n", 4, 9, "health: needs one probe: `http`, `tcp` or `exec`")]
    [InlineData("health: { tcp: { port: 80 }, exec: [x] }\n", 4, 30, "health: has both `tcp` and `exec`; give exactly one probe")]
    [InlineData("health: { http: { path: healthz, port: 80 } }\n", 4, 25, "health.http.path: `healthz` must start with '/'")]
    [InlineData("health: { http: { path: / } }\n", 4, 17, "missing required key `port` in `health.http`")]
    [InlineData("health: { exec: [] }\n", 4, 17, "health.exec: the command must not be empty")]
    // restart, placement, update
    [InlineData("restart: alway\n", 4, 10, "restart: unknown value `alway`; expected one of `always`, `on-failure`, `never`; did you mean `always`?")]
    [InlineData("restart: onfailure\n", 4, 10, "did you mean `on-failure`?")]
    [InlineData("placement: { spread: nodes }\n", 4, 22, "placement.spread: unknown value `nodes`; expected one of `node`, `none`; did you mean `node`?")]
    [InlineData("placement: { constraints: [\"zone = a\"] }\n", 4, 28, "placement.constraints[0]: invalid constraint `zone = a`")]
    [InlineData("update: { maxSurge: 0, maxUnavailable: 0 }\n", 4, 9, "update: maxSurge and maxUnavailable cannot both be 0")]
    [InlineData("update: { maxSurge: -1 }\n", 4, 21, "update.maxSurge: must be 0 or more")]
    // volumes
    [InlineData("volumes: [{ name: data, path: data }]\n", 4, 31, "volumes[0].path: `data` must be an absolute path")]
    [InlineData("volumes: [{ name: data, path: /a/../b }]\n", 4, 31, "without `..`")]
    [InlineData("volumes: [{ name: data, path: / }]\n", 4, 31, "must be an absolute path below /")]
    [InlineData("volumes: [{ name: -x, path: /d }]\n", 4, 19, "volumes[0].name: invalid volume name `-x`")]
    [InlineData("volumes: [{ name: a, path: /d }, { name: b, path: /d/ }]\n", 4, 51, "volumes[1].path: `/d/` is already a mount point at line 4")]
    [InlineData("volumes: [{ path: /d }]\n", 4, 11, "missing required key `name` in `volumes[0]`")]
    // autoscale rules
    [InlineData("autoscale: { min: 5, max: 2, cpu: 60% }\n", 4, 19, "autoscale.min: 5 is greater than autoscale.max 2")]
    [InlineData("autoscale: { min: 1, max: 5 }\n", 4, 12, "autoscale: needs a target")]
    [InlineData("autoscale: { min: 1, cpu: 50% }\n", 4, 12, "missing required key `max` in `autoscale`")]
    [InlineData("autoscale: { min: 1, max: 3, cpu: 50%, idleAfter: 5m }\n", 4, 51, "autoscale.idleAfter: applies only when autoscale.min is 0")]
    [InlineData("autoscale: { min: 0, max: 3, cpu: 50% }\n", 4, 19, "autoscale.min: 0 scales to zero and needs `idleAfter`")]
    [InlineData("autoscale: { max: 3, cpu: 50%, wakeTimeout: 30s }\n", 4, 45, "autoscale.wakeTimeout: applies only when autoscale.min is 0")]
    [InlineData("autoscale: { min: 0, max: 3, idleAfter: 5m, wakeTimeout: soon }\n", 4, 58, "autoscale.wakeTimeout: invalid duration `soon`")]
    [InlineData("replicas: 30\nautoscale: { max: 20, cpu: 50% }\n", 4, 11, "replicas: 30 is outside the autoscale range 1..20")]
    [InlineData("autoscale: { max: 3, metric: { port: 9100, name: q } }\n", 4, 30, "missing required key `target` in `autoscale.metric`")]
    // unknown keys
    [InlineData("imgae: busybox\n", 4, 1, "unknown key `imgae`; did you mean `image`?")]
    [InlineData("replica: 3\n", 4, 1, "unknown key `replica`; did you mean `replicas`?")]
    [InlineData("Replicas: 3\n", 4, 1, "unknown key `Replicas`; did you mean `replicas`?")]
    [InlineData("resources: { mem: 1Gi }\n", 4, 14, "unknown key `mem` in `resources`")]
    [InlineData("health: { tcp: { port: 80 }, intervl: 1s }\n", 4, 30, "unknown key `intervl` in `health`; did you mean `interval`?")]
    [InlineData("zzzzzz: 1\n", 4, 1, "unknown key `zzzzzz`")]
    [InlineData("replicas: 1\nreplicas: 2\n", 5, 1, "key `replicas` appears twice (first at line 4)")]
    public void Mistake_is_reported_at_its_place(string tail, int line, int column, string message)
    {
        SingleError(Head + tail, line, column, message);
    }

    [Fact]
    public void Unknown_key_without_a_close_match_gets_no_suggestion()
    {
        var error = Assert.Single(Errors(Head + "zzzzzz: 1\n"));
        Assert.DoesNotContain("did you mean", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kind: Service\nimage: busybox\n", 1, 1, "missing required key `name`")]
    [InlineData("kind: Service\nname: web\n", 1, 1, "missing required key `image`")]
    [InlineData("kind: Service\nname:\nimage: busybox\n", 2, 6, "`name` must have a value")]
    [InlineData("kind: Service\nname: Web\nimage: busybox\n", 2, 7, "name: invalid service name `Web`")]
    [InlineData("kind: Service\nname: web\nimage: Foo/Bar\n", 3, 8, "image: invalid image reference `Foo/Bar`: repository name `Bar` must be lowercase")]
    [InlineData("kind: Service\nname: web\nimage: busybox:-x\n", 3, 8, "image: invalid image reference `busybox:-x`")]
    [InlineData("name: web\nimage: busybox\n", 1, 1, "missing required key `kind` (Service or Cluster)")]
    [InlineData("kind: Servce\nname: web\nimage: busybox\n", 1, 7, "kind: unknown kind `Servce`; expected `Service` or `Cluster`; did you mean `Service`?")]
    [InlineData("- kind: Service\n", 1, 1, "expected a mapping with `kind:` at the top of the document, got a list")]
    public void Missing_or_invalid_identity_is_reported(string yaml, int line, int column, string message)
    {
        SingleError(yaml, line, column, message);
    }

    [Fact]
    public void Same_published_port_twice_in_one_service_is_refused()
    {
        SingleError(Head + "ports:\n  - { container: 80, published: 8080 }\n  - { container: 81, published: 8080 }\n",
            6, 33, "ports[1].published: port 8080/tcp is already published at line 5");
    }

    [Fact]
    public void Same_port_number_on_tcp_and_udp_is_allowed()
    {
        var spec = LoadService(Head + "ports:\n  - { container: 53, published: 53 }\n  - { container: 53, published: 53, protocol: udp }\n");
        Assert.Equal(2, spec.Ports.Count);
    }

    [Fact]
    public void Same_published_port_in_two_services_is_refused()
    {
        var yaml = Head + "ports: [{ container: 80, published: 8080 }]\n---\nkind: Service\nname: api\nimage: busybox\nports: [{ container: 81, published: 8080 }]\n";
        var error = Assert.Single(Errors(yaml));
        Assert.StartsWith("6:1: service `api` publishes port 8080/tcp, already published by service `web` at svc.yaml:1:1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_service_declared_twice_is_refused()
    {
        var error = Assert.Single(Errors(Head + "---\n" + Head));
        Assert.Equal("5:1: service `web` is already declared at svc.yaml:1:1", error);
    }

    [Fact]
    public void Yaml_syntax_error_is_reported_with_its_position()
    {
        var error = Assert.Single(Errors(Head + "env: { A: 1\n"));
        Assert.Matches(@"^\d+:\d+: YAML syntax: ", error);
    }

    [Fact]
    public void Yaml_syntax_error_in_a_later_document_keeps_the_errors_of_earlier_ones()
    {
        var errors = Errors(Head + "replicas: -1\n---\nkind: Service\nname: b\nimage: busybox\nenv: { a: [\n");
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("4:11: replicas: must be 0 or more", errors[0], StringComparison.Ordinal);
        Assert.Contains("YAML syntax", errors[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Unterminated_flow_sequence_before_more_keys_is_a_syntax_error_not_a_crash()
    {
        var error = Assert.Single(Errors(Head + "command: [a, b\nreplicas: 2\nrestart: never\n"));
        Assert.Matches(@"^\d+:\d+: YAML syntax: ", error);
    }

    [Fact]
    public void Tab_indentation_is_a_syntax_error_not_a_crash()
    {
        var error = Assert.Single(Errors("kind: Service\nname: web\n\timage: busybox\n"));
        Assert.Contains("YAML syntax", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_alias_is_a_syntax_error()
    {
        var error = Assert.Single(Errors(Head + "command: *nothing\n"));
        Assert.Contains("YAML syntax", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_mistake_of_a_file_is_reported_at_once_in_file_order()
    {
        var errors = Errors("""
            kind: Service
            name: web
            image: busybox
            replicas: -2
            imgae: busybox
            resources: { memory: 64MB }
            """);

        Assert.Equal(3, errors.Count);
        Assert.StartsWith("4:11: replicas:", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("5:1: unknown key `imgae`", errors[1], StringComparison.Ordinal);
        Assert.StartsWith("6:22: resources.memory:", errors[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_document_yields_no_spec_but_valid_siblings_do()
    {
        var set = SpecLoader.Load(FileName, Head + "replicas: -1\n---\nkind: Service\nname: ok\nimage: busybox\n");
        Assert.False(set.IsValid);
        Assert.Equal("ok", Assert.Single(set.Services).Name.Value);
    }

    [Fact]
    public void Diagnostic_prints_like_a_compiler()
    {
        var diagnostic = Assert.Single(SpecLoader.Load("web.yaml", Head + "replicas: -1\n").Diagnostics);
        Assert.Equal("web.yaml:4:11: error: replicas: must be 0 or more, got -1", diagnostic.ToString());
    }
}
