using System.Text.Json;
using Fleet.Api.V1;
using Fleet.Cli.Commands;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Cli.Tests;

/// <summary>Parsing, output and exit codes of logs, exec, events -f, build, push, pull, images, rmi and volume.</summary>
public sealed class NodeVerbCommandTests
{
    [Theory]
    [InlineData("logs")]
    [InlineData("logs", "web", "--tail", "-3")]
    [InlineData("logs", "web", "--tail", "many")]
    [InlineData("exec", "web-7k2xq")]
    [InlineData("exec")]
    [InlineData("build", "some-dir")]
    [InlineData("build", "-t", "app:v1")]
    [InlineData("build", "-t", "app:v1", "dir", "--build-arg", "NOEQUALS")]
    [InlineData("push")]
    [InlineData("pull")]
    [InlineData("rmi")]
    [InlineData("images", "-o", "yaml")]
    [InlineData("volume", "rm")]
    [InlineData("volume", "frob")]
    [InlineData("events", "--follow", "yes")]
    [InlineData("scale", "web", "--replicas", "many")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var run = CliRun.Of(args);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.NotEmpty(run.Stderr);
    }

    [Theory]
    [InlineData("logs", "web")]
    [InlineData("logs", "web", "-f", "--tail", "10")]
    [InlineData("events", "-f")]
    [InlineData("push", "127.0.0.1:4051/app:v1")]
    [InlineData("pull", "busybox")]
    [InlineData("images")]
    [InlineData("rmi", "app:v1")]
    [InlineData("volume", "ls")]
    [InlineData("volume", "rm", "data")]
    public void An_unreachable_server_is_one_line_and_exit_1(params string[] args)
    {
        var server = TestPorts.ClosedServer();
        var run = CliRun.Of([.. args, "--server", server]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"error: cannot reach fleetd at {server}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Exec_against_an_unreachable_server_is_one_line_and_exit_1()
    {
        var server = TestPorts.ClosedServer();
        // --server goes before `--`: everything after it is the command.
        var run = CliRun.Of("exec", "web-7k2xq", "--server", server, "--", "true");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith($"error: cannot reach fleetd at {server}", Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Exec_takes_everything_after_the_double_dash_as_the_command()
    {
        var root = FleetCli.BuildRoot(TextWriter.Null, TextWriter.Null);

        var parsed = root.Parse(["exec", "web-7k2xq", "--server", "h:1", "--", "sh", "-c", "echo --server x"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("web-7k2xq", parsed.GetValue(ExecCommand.Replica));
        Assert.Equal(["sh", "-c", "echo --server x"], parsed.GetValue(ExecCommand.CommandLine)!);
    }

    [Theory]
    [InlineData("-i")]
    [InlineData("--stdin")]
    [InlineData("--interactive")]
    public void Exec_dash_i_asks_for_standard_input_and_without_it_none_is_passed(string flag)
    {
        var root = FleetCli.BuildRoot(TextWriter.Null, TextWriter.Null);

        var with = root.Parse(["exec", flag, "web-7k2xq", "--", "cat", "-i"]);
        var without = root.Parse(["exec", "web-7k2xq", "--", "cat", flag]);

        Assert.Empty(with.Errors);
        Assert.True(with.GetValue(ExecCommand.Stdin));
        Assert.Equal(["cat", "-i"], with.GetValue(ExecCommand.CommandLine)!);
        Assert.Empty(without.Errors);
        Assert.False(without.GetValue(ExecCommand.Stdin));
        Assert.Equal(["cat", flag], without.GetValue(ExecCommand.CommandLine)!);
    }

    [Fact]
    public void Build_of_a_missing_directory_is_exit_1_before_any_call()
    {
        var run = CliRun.Of("build", "-t", "app:v1", "/nonexistent/context", "--server", TestPorts.ClosedServer());

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal(["error: build context /nonexistent/context is not a directory"], run.StderrLines);
    }

    [Fact]
    public void Log_lines_of_a_service_are_prefixed_with_the_replica()
    {
        var line = new LogLine
        {
            Replica = "web-7k2xq",
            Stream = "stdout",
            Text = "GET / 200",
            Time = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
        };

        Assert.Equal("GET / 200", LogsCommand.Format(line, prefixed: false, timestamps: false));
        Assert.Equal("web-7k2xq | GET / 200", LogsCommand.Format(line, prefixed: true, timestamps: false));
        Assert.Equal("2026-01-02T03:04:05.000Z web-7k2xq | GET / 200", LogsCommand.Format(line, prefixed: true, timestamps: true));
    }

    [Fact]
    public void Images_print_a_table_with_short_digests_or_stable_json()
    {
        var now = new DateTimeOffset(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);
        Image[] images =
        [
            new() { Reference = "docker.io/library/app:v1", Digest = "sha256:" + new string('a', 64), Size = 1_059_357, Created = Timestamp.FromDateTimeOffset(now.AddHours(-3)) },
            new() { Reference = "127.0.0.1:4051/team/web:v2", Digest = "sha256:" + new string('b', 64), Size = 512 },
        ];
        using var table = new StringWriter();
        using var json = new StringWriter();

        ImagesCommand.Write(table, images, OutputFormat.Table, now);
        ImagesCommand.Write(json, images, OutputFormat.Json, now);

        var lines = table.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^REFERENCE +DIGEST +SIZE +CREATED$", lines[0]);
        Assert.Matches("^docker.io/library/app:v1 +aaaaaaaaaaaa +1.1MB +3h ago$", lines[1]);
        Assert.Matches("^127.0.0.1:4051/team/web:v2 +bbbbbbbbbbbb +512B +-$", lines[2]);
        var first = JsonDocument.Parse(json.ToString()).RootElement[0];
        Assert.Equal(["reference", "digest", "size", "created"], first.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1_059_357, first.GetProperty("size").GetInt64());
        Assert.Equal("2026-01-02T00:00:00.000Z", first.GetProperty("created").GetString());
    }

    [Fact]
    public void Volumes_show_who_mounts_them()
    {
        var now = DateTimeOffset.UtcNow;
        Volume[] volumes =
        [
            new() { Name = "data", Size = 5, Created = Timestamp.FromDateTimeOffset(now), UsedBy = { "db", "web" } },
            new() { Name = "spare", Size = 0, Created = Timestamp.FromDateTimeOffset(now) },
        ];
        using var table = new StringWriter();
        using var json = new StringWriter();

        VolumeCommand.Write(table, volumes, OutputFormat.Table, now);
        VolumeCommand.Write(json, volumes, OutputFormat.Json, now);

        Assert.Contains("db,web", table.ToString(), StringComparison.Ordinal);
        var parsed = JsonDocument.Parse(json.ToString()).RootElement;
        Assert.Equal(["db", "web"], parsed[0].GetProperty("usedBy").EnumerateArray().Select(u => u.GetString()));
        Assert.Empty(parsed[1].GetProperty("usedBy").EnumerateArray());
    }

    [Fact]
    public void Transfer_progress_is_plain_lines_off_a_terminal_and_one_redrawn_line_on_one()
    {
        TransferProgress[] steps =
        [
            new() { Digest = "sha256:" + new string('c', 64), Phase = "uploading", Current = 10, Total = 100 },
            new() { Digest = "sha256:" + new string('c', 64), Phase = "uploaded", Current = 100, Total = 100 },
            new() { Digest = "sha256:" + new string('d', 64), Phase = "uploaded", Current = 5, Total = 5 },
        ];
        using var plain = new StringWriter();
        using var terminal = new StringWriter();
        var plainView = new TransferView(plain, terminal: false, "pushing app:v1");
        var terminalView = new TransferView(terminal, terminal: true, "pushing app:v1");

        foreach (var step in steps)
        {
            plainView.Show(step);
            terminalView.Show(step);
        }
        plainView.Finish();
        terminalView.Finish();

        Assert.Equal(["cccccccccccc: uploaded 100B", "dddddddddddd: uploaded 5B"], plain.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var drawn = terminal.ToString();
        Assert.StartsWith("\r", drawn, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", drawn.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal("pushing app:v1: 2/2 blobs, 105B/105B", drawn[(drawn.LastIndexOf('\r') + 1)..].Trim());
        Assert.False(TransferView.IsTerminal(plain));
    }

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(4_200, "4.2kB")]
    [InlineData(1_500_000, "1.5MB")]
    [InlineData(2_000_000_000, "2GB")]
    public void Sizes_are_printed_for_people(long size, string expected) => Assert.Equal(expected, ImagesCommand.Bytes(size));
}
