using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Build;
using Fleet.Cli;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Store;
using Fleet.Node;

namespace Fleet.Daemon.Tests;

/// <summary>
/// The verbs fleetd serves from its own node — registry, images, build, push, pull, rmi,
/// volumes, events -f, logs, exec, metrics — against a real fleetd process (memory driver: no
/// replica containers of its own) driven by fleetctl on its command line. Logs, exec and the
/// per-replica metrics run against a real container made under the fleetd's runtime root.
/// </summary>
public sealed partial class NodeVerbsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static JsonElement Json(CliResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    private static List<string> References(FleetdProcess fleetd) =>
        [.. Json(fleetd.Ctl("images", "-o", "json")).EnumerateArray().Select(i => i.GetProperty("reference").GetString()!)];

    private static void Eventually(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }
            Thread.Sleep(200);
        }
    }

    /// <summary>Context writes a build context: a Fleetfile copying busybox-static into an empty image.</summary>
    private static string Context(TempDir dir, string fleetfile = "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"true\"]\n")
    {
        if (!File.Exists(ReplicaContainer.BusyboxPath))
        {
            Assert.Fail($"{ReplicaContainer.BusyboxPath} is missing: run `apt-get install -y busybox-static`");
        }
        var context = Directory.CreateDirectory(Path.Combine(dir.Path, "context-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.Copy(ReplicaContainer.BusyboxPath, Path.Combine(context, "busybox"));
        File.WriteAllText(Path.Combine(context, "Fleetfile"), fleetfile);
        return context;
    }

    [Fact]
    public async Task Registry_answers_v2_on_the_http_port_and_an_image_pushed_to_it_is_listed_by_images()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using (var v2 = await http.GetAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/v2/")))
        {
            Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        }
        using (var onApi = await http.GetAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/metrics")))
        {
            Assert.Equal(HttpStatusCode.OK, onApi.StatusCode);
        }

        // Build an image into a store of the test's own, then push it with Fleet's pusher.
        var store = new ContentStore(Path.Combine(dir.Path, "client-store"));
        var built = await new ImageBuilder(store, new RunStepOptions { WorkRoot = Path.Combine(dir.Path, "run"), StateRoot = Path.Combine(dir.Path, "state") })
            .BuildAsync(new BuildRequest { ContextDir = Context(dir), Tag = "pushed:v1" });
        var target = ImageReference.Parse($"127.0.0.1:{fleetd.HttpPort}/team/pushed:v1");
        using (var client = new RegistryClient())
        {
            await new ImagePusher(store, client).PushAsync(built.ManifestDigest, target);
        }

        var images = Json(fleetd.Ctl("images", "-o", "json")).EnumerateArray().ToList();
        var pushed = Assert.Single(images, i => i.GetProperty("reference").GetString() == target.ToString());
        Assert.Equal(built.ManifestDigest.ToString(), pushed.GetProperty("digest").GetString());
        Assert.True(pushed.GetProperty("size").GetInt64() > new FileInfo(ReplicaContainer.BusyboxPath).Length / 2, pushed.ToString());
        Assert.True(pushed.TryGetProperty("created", out _));
        var table = fleetd.Ctl("images");
        Assert.Contains(target.ToString(), table.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("REFERENCE", table.Stdout, StringComparison.Ordinal);

        // rmi of a registry tag deletes it through the registry: the tag is gone from /v2/ too.
        var rmi = fleetd.Ctl("rmi", target.ToString());
        Assert.True(rmi.ExitCode == ExitCodes.Ok, rmi.ToString());
        Assert.DoesNotContain(target.ToString(), References(fleetd));
        using var tags = await http.GetAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/v2/team/pushed/manifests/v1"));
        Assert.Equal(HttpStatusCode.NotFound, tags.StatusCode);
    }

    [Fact]
    public async Task Build_then_push_to_the_fleetd_registry_then_another_fleetd_pulls_it_back()
    {
        using var dir = new TempDir();
        using var first = FleetdProcess.Start(Path.Combine(dir.Path, "first"));
        using var second = FleetdProcess.Start(Path.Combine(dir.Path, "second"));
        first.WaitReady();
        second.WaitReady();
        var reference = $"127.0.0.1:{first.HttpPort}/hello:v1";

        var build = first.Ctl("build", "-t", reference, Context(dir));
        Assert.True(build.ExitCode == ExitCodes.Ok, build.ToString());
        Assert.Contains("STEP 1: COPY busybox /bin/busybox", build.Stdout, StringComparison.Ordinal);
        Assert.Matches($"built {Regex.Escape(reference)} \\(sha256:[0-9a-f]{{64}}", build.Stdout);
        var digest = Regex.Match(build.Stdout, "sha256:[0-9a-f]{64}").Value;
        Assert.Contains(reference, References(first));

        // The same build again is taken from the cache and gives the same digest.
        var again = first.Ctl("build", "-t", reference, Context(dir));
        Assert.True(again.ExitCode == ExitCodes.Ok, again.ToString());
        Assert.Contains("CACHED COPY", again.Stdout, StringComparison.Ordinal);
        Assert.Contains(digest, again.Stdout, StringComparison.Ordinal);

        var push = first.Ctl("push", reference);
        Assert.True(push.ExitCode == ExitCodes.Ok, push.ToString());
        Assert.Contains($"pushed {reference} ({digest})", push.Stdout, StringComparison.Ordinal);
        // Not a terminal: plain lines, one per blob, no carriage returns.
        Assert.DoesNotContain("\r", push.Stdout, StringComparison.Ordinal);
        Assert.Contains("uploaded", push.Stdout, StringComparison.Ordinal);

        var pull = second.Ctl("pull", reference);
        Assert.True(pull.ExitCode == ExitCodes.Ok, pull.ToString());
        Assert.Contains($"pulled {reference} ({digest})", pull.Stdout, StringComparison.Ordinal);
        var pulled = Assert.Single(Json(second.Ctl("images", "-o", "json")).EnumerateArray(), i => i.GetProperty("reference").GetString() == reference);
        Assert.Equal(digest, pulled.GetProperty("digest").GetString());

        // The pull is timed on /metrics.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{second.HttpPort}/metrics"));
        Assert.Matches("fleet_image_pull_duration_seconds_count [1-9]", metrics);
        Assert.Contains("fleet_api_request_duration_seconds_count{method=\"Pull\",code=\"OK\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_errors_name_the_fleetfile_line_and_pull_errors_are_one_line_exit_1()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();

        var bad = fleetd.Ctl("build", "-t", "bad:v1", Context(dir, "FROM scratch\nCOPPY busybox /bin/busybox\n"));
        Assert.Equal(ExitCodes.Invalid, bad.ExitCode);
        Assert.Matches("Fleetfile:2:\\d+: error: ", bad.Stderr);

        var missing = fleetd.Ctl("build", "-t", "bad:v1", Context(dir, "FROM scratch\nCOPY nothing-here /x\n"));
        Assert.Equal(ExitCodes.Invalid, missing.ExitCode);
        Assert.Matches("Fleetfile:2:\\d+: error: .*nothing-here", missing.Stderr);

        var noBase = fleetd.Ctl("build", "-t", "bad:v1", Context(dir, "FROM never-pulled:v1\nCOPY busybox /bin/busybox\n"));
        Assert.Equal(ExitCodes.Failure, noBase.ExitCode);
        Assert.Contains("FROM never-pulled:v1: no such image", noBase.Stderr, StringComparison.Ordinal);

        var nowhere = fleetd.Ctl("pull", $"127.0.0.1:{fleetd.HttpPort}/nothing:v1");
        Assert.Equal(ExitCodes.Failure, nowhere.ExitCode);
        Assert.Single(nowhere.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: pull ", nowhere.Stderr, StringComparison.Ordinal);

        var notHere = fleetd.Ctl("push", "never-built:v1");
        Assert.Equal(ExitCodes.Failure, notHere.ExitCode);
        Assert.Contains("no image", notHere.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Rmi_is_refused_while_a_declared_service_uses_the_image()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("build", "-t", "app:v1", Context(dir)).ExitCode);
        var spec = dir.File("app.yaml", "kind: Service\nname: app\nimage: app:v1\nreplicas: 1\n");
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", spec).ExitCode);

        var refused = fleetd.Ctl("rmi", "app:v1");
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("image docker.io/library/app:v1 is being used by service app", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("docker.io/library/app:v1", References(fleetd));

        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("delete", "service", "app").ExitCode);
        var removed = fleetd.Ctl("rmi", "app:v1");
        Assert.True(removed.ExitCode == ExitCodes.Ok, removed.ToString());
        Assert.DoesNotContain("docker.io/library/app:v1", References(fleetd));
        Assert.Equal(ExitCodes.Failure, fleetd.Ctl("rmi", "app:v1").ExitCode);
        Assert.Equal(ExitCodes.Invalid, fleetd.Ctl("rmi", "Not A Reference").ExitCode);
    }

    [Fact]
    public void Volume_ls_shows_directories_and_their_users_and_rm_refuses_a_mounted_one()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        using var fleetd = FleetdProcess.Start(data);
        fleetd.WaitReady();
        var paths = new NodePaths(data);
        Directory.CreateDirectory(Path.Combine(paths.Volumes, "kept"));
        File.WriteAllText(Path.Combine(paths.Volumes, "kept", "file"), "12345");
        Directory.CreateDirectory(Path.Combine(paths.Volumes, "spare", "sub"));
        var spec = dir.File("db.yaml", "kind: Service\nname: db\nimage: busybox\nvolumes:\n  - { name: kept, path: /data }\n");
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", spec).ExitCode);

        var volumes = Json(fleetd.Ctl("volume", "ls", "-o", "json")).EnumerateArray().ToList();
        Assert.Equal(["kept", "spare"], volumes.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(5, volumes[0].GetProperty("size").GetInt64());
        Assert.Equal(["db"], volumes[0].GetProperty("usedBy").EnumerateArray().Select(u => u.GetString()));
        Assert.Empty(volumes[1].GetProperty("usedBy").EnumerateArray());
        Assert.Contains("USED BY", fleetd.Ctl("volume", "ls").Stdout, StringComparison.Ordinal);

        var refused = fleetd.Ctl("volume", "rm", "kept");
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("volume kept is in use by service db", refused.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(paths.Volumes, "kept", "file")));

        var removed = fleetd.Ctl("volume", "rm", "spare");
        Assert.True(removed.ExitCode == ExitCodes.Ok, removed.ToString());
        Assert.False(Directory.Exists(Path.Combine(paths.Volumes, "spare")));
        Assert.Equal(ExitCodes.Failure, fleetd.Ctl("volume", "rm", "spare").ExitCode);
        Assert.Equal(ExitCodes.Invalid, fleetd.Ctl("volume", "rm", "Bad Name").ExitCode);
    }

    [Fact]
    public async Task Events_follow_receives_an_apply_made_after_it_started()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();
        var inner = new StringWriter();
        var stdout = TextWriter.Synchronized(inner);
        using var stderr = new StringWriter();
        using var stop = new CancellationTokenSource();
        var follow = FleetCli.RunAsync(["events", "-f", "-o", "json", "--server", fleetd.Server], stdout, stderr, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(follow.IsCompleted, stderr.ToString());

        var spec = dir.File("late.yaml", "kind: Service\nname: late\nimage: busybox\n");
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", spec).ExitCode);
        Eventually(() => { lock (stdout) { return inner.ToString().Contains("\"service\":\"late\"", StringComparison.Ordinal); } }, "events -f prints the apply");

        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await follow.WaitAsync(TimeSpan.FromSeconds(30)));
        string text;
        lock (stdout)
        {
            text = inner.ToString();
        }
        var line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("\"late\"", StringComparison.Ordinal));
        using var e = JsonDocument.Parse(line);
        Assert.Equal("applied", e.RootElement.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Logs_follow_across_rotation_and_exec_runs_in_a_real_container()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        using var fleetd = FleetdProcess.Start(data);
        fleetd.WaitReady();
        // ~50 bytes a line, 10 lines a second, rotated every 1500 bytes: a rotation every ~3 s.
        using var replica = await ReplicaContainer.StartAsync(data,
            "i=0; while true; do echo line-$i; echo err-$i >&2; i=$((i+1)); sleep 0.1; done", logMaxBytes: 1500, logFiles: 4);
        var id = replica.Id.ToString();
        var service = replica.Id.Service.Value;
        Eventually(() => File.Exists(replica.LogPath) && new FileInfo(replica.LogPath).Length > 300, "the container writes its log");

        var tail = fleetd.Ctl("logs", id, "--tail", "4");
        Assert.True(tail.ExitCode == ExitCodes.Ok, tail.ToString());
        var tailed = Lines(tail.Stdout).Concat(Lines(tail.Stderr)).ToList();
        Assert.Equal(4, tailed.Count);
        Assert.All(Lines(tail.Stdout), l => Assert.Matches("^line-\\d+$", l));
        Assert.All(Lines(tail.Stderr), l => Assert.Matches("^err-\\d+$", l));

        var byService = fleetd.Ctl("logs", service, "--tail", "2");
        Assert.True(byService.ExitCode == ExitCodes.Ok, byService.ToString());
        Assert.All(Lines(byService.Stdout).Concat(Lines(byService.Stderr)), l => Assert.StartsWith(id + " | ", l, StringComparison.Ordinal));

        // Follow the service from now on across two rotations: its one replica's numbers come without a gap.
        var inner = new StringWriter();
        var stdout = TextWriter.Synchronized(inner);
        using var followErr = new StringWriter();
        using var stop = new CancellationTokenSource();
        var follow = FleetCli.RunAsync(["logs", service, "-f", "--tail", "0", "--server", fleetd.Server], stdout, TextWriter.Synchronized(followErr), stop.Token);
        var rotated = Path.Combine(replica.Paths.ReplicaLogs(replica.Id), "container.log.2");
        Eventually(() => File.Exists(rotated), "the log rotates twice while followed");
        Eventually(() => { lock (stdout) { return Lines(inner.ToString()).Count > 40; } }, "the follower keeps printing");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await follow.WaitAsync(TimeSpan.FromSeconds(30)));
        List<int> numbers;
        lock (stdout)
        {
            var prefix = id + " | line-";
            Assert.All(Lines(inner.ToString()), l => Assert.StartsWith(prefix, l, StringComparison.Ordinal));
            numbers = [.. Lines(inner.ToString()).Select(l => int.Parse(l[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture))];
        }
        Assert.Equal(Enumerable.Range(numbers[0], numbers.Count), numbers);

        // exec: output on both streams and the command's exit code.
        var exec = CliResult.Run("exec", "--server", fleetd.Server, id, "--", "sh", "-c", "echo out-$(hostname); echo oops >&2; exit 3");
        Assert.Equal(3, exec.ExitCode);
        Assert.Equal($"out-{id}\n", exec.Stdout);
        Assert.Equal("oops\n", exec.Stderr);
        var ok = CliResult.Run("exec", "--server", fleetd.Server, id, "--", "true");
        Assert.Equal(ExitCodes.Ok, ok.ExitCode);
        // Standard input: empty without -i (cat ends at once), fleetctl's own with -i — all of it,
        // and a command that stops reading early still exits with its own code.
        var noInput = CliResult.RunWithInput("ignored\n"u8.ToArray(), "exec", "--server", fleetd.Server, id, "--", "cat");
        Assert.True(noInput.ExitCode == ExitCodes.Ok && noInput.Stdout.Length == 0, noInput.ToString());
        var upper = CliResult.RunWithInput("hello\nworld\n"u8.ToArray(), "exec", "-i", "--server", fleetd.Server, id, "--", "tr", "a-z", "A-Z");
        Assert.True(upper.ExitCode == ExitCodes.Ok, upper.ToString());
        Assert.Equal("HELLO\nWORLD\n", upper.Stdout);
        var megabyte = new byte[1024 * 1024];
        Random.Shared.NextBytes(megabyte);
        var counted = CliResult.RunWithInput(megabyte, "exec", "--stdin", "--server", fleetd.Server, id, "--", "wc", "-c");
        Assert.True(counted.ExitCode == ExitCodes.Ok, counted.ToString());
        Assert.Equal("1048576", counted.Stdout.Trim());
        var early = CliResult.RunWithInput(megabyte, "exec", "-i", "--server", fleetd.Server, id, "--", "sh", "-c", "head -c 3 >/dev/null; echo read; exit 7");
        Assert.Equal(7, early.ExitCode);
        Assert.Equal("read\n", early.Stdout);
        var nowhere = CliResult.Run("exec", "--server", fleetd.Server, service + "-zzzzz", "--", "true");
        Assert.Equal(ExitCodes.Failure, nowhere.ExitCode);
        Assert.Contains("has no container on this node", nowhere.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, fleetd.Ctl("logs", "nosuchservice").ExitCode);

        // The replica's cgroup figures are on /metrics.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/metrics"));
        Assert.Matches($"fleet_replica_memory_bytes\\{{replica=\"{id}\",service=\"{service}\"\\}} [1-9]", metrics);
        Assert.Contains($"fleet_replica_cpu_seconds_total{{replica=\"{id}\",service=\"{service}\"}}", metrics, StringComparison.Ordinal);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
}
