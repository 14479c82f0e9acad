namespace Fleet.Cli.Tests;

public sealed class ValidateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fleet-cli-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Example(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "examples", .. parts]);

    [Fact]
    public void Every_shipped_example_and_cluster_yaml_validate_with_exit_0()
    {
        var run = CliRun.Of("validate", "-f",
            Example("web", "web.yaml"),
            Example("worker", "worker.yaml"),
            Example("stateful-counter", "counter.yaml"),
            Path.Combine(AppContext.BaseDirectory, "cluster.yaml"));

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Equal("", run.Stderr);
        Assert.Equal("valid: 4 services (web, worker, cache, counter); cluster `local` with 3 nodes", run.Stdout.Trim());
    }

    [Fact]
    public void File_with_three_mistakes_prints_three_located_errors_and_exits_2()
    {
        var path = Write("bad.yaml", """
            kind: Service
            name: web
            image: busybox
            replicas: -1
            imgae: busybox
            resources: { memory: 64MB }
            """);

        var run = CliRun.Of("validate", "-f", path);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.Equal("", run.Stdout);
        var located = run.StderrLines.Where(l => l.StartsWith(path + ":", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [
                $"{path}:4:11: error: replicas: must be 0 or more, got -1",
                $"{path}:5:1: error: unknown key `imgae`; did you mean `image`?",
                $"{path}:6:22: error: resources.memory: invalid size `64MB`: expected a number with an optional unit Ki, Mi, Gi, Ti (1024) or K, M, G, T (1000), e.g. 64Mi or 512M",
            ],
            located);
        Assert.Equal("3 errors in 1 file", run.StderrLines[^1]);
    }

    [Fact]
    public void Files_are_checked_together_so_a_service_in_two_files_is_reported()
    {
        var a = Write("a.yaml", "kind: Service\nname: web\nimage: busybox\n");
        var b = Write("b.yaml", "kind: Service\nname: web\nimage: busybox\n");

        var run = CliRun.Of("validate", "-f", a, "-f", b);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.Contains($"{b}:1:1: error: service `web` is already declared at {a}:1:1", run.StderrLines);
    }

    [Fact]
    public void Warnings_are_printed_but_the_file_is_valid()
    {
        var path = Write("c.yaml", "kind: Cluster\nname: c\nnodes:\n  - { name: a, address: 10.0.0.1 }\n  - { name: b, address: 10.0.0.2 }\n");

        var run = CliRun.Of("validate", "-f", path);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.StartsWith($"{path}:4:3: warning: nodes: 2 control-plane nodes", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_a_failure_naming_the_file()
    {
        var path = Path.Combine(_dir, "nope.yaml");

        var run = CliRun.Of("validate", "-f", path);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith($"{path}: error: cannot read: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_without_a_file_is_a_usage_error()
    {
        var run = CliRun.Of("validate");

        Assert.NotEqual(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("--file", run.Stderr, StringComparison.Ordinal);
    }
}
