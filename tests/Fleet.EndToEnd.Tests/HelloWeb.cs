using System.Net.Sockets;
using System.Text;
using Fleet.Build;
using Fleet.Cli;
using Fleet.Images.Store;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// HelloWeb is the quick start's example as the tests use it: its Fleetfile (copied beside the
/// tests) with Debian's busybox-static in a build context, its service.yaml with a published
/// port of the test's choosing, and an HTTP client that opens a new connection per request so
/// the routing mesh may pick another replica each time.
/// </summary>
internal static class HelloWeb
{
    public const string BusyboxPath = "/bin/busybox";

    public static string ExampleDir => Path.Combine(AppContext.BaseDirectory, "examples", "hello-web");

    /// <summary>Context makes a build context: the example's Fleetfile plus busybox.</summary>
    public static string Context(FleetNode node)
    {
        if (!File.Exists(BusyboxPath))
        {
            Assert.Fail($"{BusyboxPath} is missing: run `apt-get install -y busybox-static` (scripts/deps)");
        }
        var context = Directory.CreateDirectory(Path.Combine(node.Root, "hello-web")).FullName;
        File.Copy(Path.Combine(ExampleDir, "Fleetfile"), Path.Combine(context, "Fleetfile"), overwrite: true);
        File.Copy(BusyboxPath, Path.Combine(context, "busybox"), overwrite: true);
        return context;
    }

    /// <summary>FleetctlCanBuild says whether this fleetctl has the `build` verb.</summary>
    public static bool FleetctlCanBuild =>
        FleetCli.BuildRoot(TextWriter.Null, TextWriter.Null).Subcommands.Any(c => c.Name == "build");

    /// <summary>
    /// Build makes the hello-web image on <paramref name="node"/> as <paramref name="tag"/>: with
    /// `fleetctl build` when this fleetctl has it; otherwise straight into the node's content
    /// store with Fleet.Build (fleetd is stopped for that and started again).
    /// </summary>
    public static void Build(FleetNode node, string tag = "hello-web")
    {
        var context = Context(node);
        if (FleetctlCanBuild)
        {
            node.CtlOk("build", "-t", tag, context);
            return;
        }
        node.Fleetd.Terminate(TimeSpan.FromSeconds(60));
        BuildIntoStore(node, context, tag);
        node.StartFleetd();
    }

    private static void BuildIntoStore(FleetNode node, string context, string tag)
    {
        var paths = new Fleet.Node.NodePaths(node.DataDir);
        var store = new ContentStore(paths.Images);
        var options = new RunStepOptions
        {
            WorkRoot = Directory.CreateDirectory(Path.Combine(node.Root, "build-run")).FullName,
            StateRoot = Path.Combine(node.Root, "build-state"),
            CgroupParent = "/" + node.Prefix + "-build",
            Timeout = TimeSpan.FromMinutes(2),
        };
        try
        {
            new ImageBuilder(store, options).BuildAsync(new BuildRequest { ContextDir = context, Tag = tag }).GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var hierarchy in new[] { "/sys/fs/cgroup" }.Concat(Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : []))
            {
                var parent = hierarchy + options.CgroupParent;
                if (Directory.Exists(parent))
                {
                    foreach (var dir in Directory.GetDirectories(parent, "*", SearchOption.AllDirectories).Append(parent).OrderByDescending(d => d.Length))
                    {
                        try
                        {
                            Directory.Delete(dir);
                        }
                        catch (IOException)
                        {
                        }
                    }
                }
            }
        }
    }

    /// <summary>ServiceYaml is the example's service.yaml with another name, image, count or published port.</summary>
    public static string ServiceYaml(int publishedPort, string name = "web", string image = "hello-web", int replicas = 3)
    {
        var text = File.ReadAllText(Path.Combine(ExampleDir, "service.yaml"));
        text = text.Replace("name: web", $"name: {name}", StringComparison.Ordinal)
            .Replace("image: hello-web", $"image: {image}", StringComparison.Ordinal)
            .Replace("replicas: 3", $"replicas: {replicas}", StringComparison.Ordinal)
            .Replace("published: 8080", $"published: {publishedPort}", StringComparison.Ordinal);
        return text;
    }

    /// <summary>Get fetches http://HOST:PORT/PATH on a fresh connection; null when nothing answers or it is not a 200.</summary>
    public static string? Get(string host, int port, TimeSpan? timeout = null, string path = "/")
    {
        try
        {
            using var client = new TcpClient();
            var connect = client.ConnectAsync(host, port);
            if (!connect.Wait(timeout ?? TimeSpan.FromSeconds(3)))
            {
                return null;
            }
            client.ReceiveTimeout = (int)(timeout ?? TimeSpan.FromSeconds(3)).TotalMilliseconds;
            using var stream = client.GetStream();
            var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            stream.Write(request);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var response = reader.ReadToEnd();
            var body = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return response.StartsWith("HTTP/1.", StringComparison.Ordinal) && response.Contains(" 200 ", StringComparison.Ordinal) && body >= 0
                ? response[(body + 4)..].Trim()
                : null;
        }
        catch (Exception e) when (e is SocketException or IOException or AggregateException)
        {
            return null;
        }
    }

    /// <summary>GetInside fetches http://127.0.0.1:PORT/ inside the network namespace of <paramref name="pid"/> (nsenter + the host's busybox wget; its -T option crashes Debian's busybox-static, so coreutils' timeout bounds it).</summary>
    public static string? GetInside(int pid, int port)
    {
        var (code, output) = FleetNode.Run("timeout", "10", "nsenter", "-t", FleetNode.Num(pid), "-n", BusyboxPath, "wget", "-q", "-O", "-", $"http://127.0.0.1:{FleetNode.Num(port)}/");
        return code == 0 ? output.Trim() : null;
    }

    /// <summary>Answers asks the published port <paramref name="requests"/> times and returns the replica each answer names.</summary>
    public static IReadOnlyList<string> Answers(int port, int requests)
    {
        var answers = new List<string>();
        for (var i = 0; i < requests; i++)
        {
            if (Get("127.0.0.1", port) is { } body && body.StartsWith("hello from ", StringComparison.Ordinal))
            {
                answers.Add(body["hello from ".Length..]);
            }
        }
        return answers;
    }
}
