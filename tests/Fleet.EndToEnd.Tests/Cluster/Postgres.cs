using System.Globalization;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// Postgres is a throw-away PostgreSQL server from Debian's packages (postgresql 15) for tests:
/// initdb into a private temporary directory owned by the `postgres` user (the server refuses to
/// run as root), listening on 127.0.0.1 on a free port with its unix socket inside that
/// directory, trust authentication for the superuser `fleet` and a database `fleet`. It can be
/// stopped and started again on the same data and port (a database outage), and Dispose always
/// stops the server by the PID in postmaster.pid and deletes the directory.
/// A missing PostgreSQL fails the test loudly; it is never skipped.
/// </summary>
internal sealed class Postgres : IDisposable
{
    public const string BinDir = "/usr/lib/postgresql/15/bin";
    public const string User = "fleet";
    public const string Database = "fleet";
    private const string OsUser = "postgres";

    private Postgres(string root, int port)
    {
        Root = root;
        Port = port;
    }

    /// <summary>Root is the private directory: data/ (the cluster), the unix socket and server.log.</summary>
    public string Root { get; }

    public int Port { get; }

    public string DataDir => Path.Combine(Root, "data");

    public string LogFile => Path.Combine(Root, "server.log");

    /// <summary>ConnectionString is the Npgsql connection string fleetd uses (cluster.yaml `persistence.connectionString`).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database={Database};Username={User}";

    /// <summary>PersistenceYaml is the body of cluster.yaml's `persistence:` block (as <see cref="FleetClusterOptions.Persistence"/> takes it).</summary>
    public string PersistenceYaml => $"  provider: postgres\n  connectionString: \"{ConnectionString}\"\n";

    /// <summary>Pid is the running postmaster's PID (from postmaster.pid), or null when it is stopped.</summary>
    public int? Pid
    {
        get
        {
            var file = Path.Combine(DataDir, "postmaster.pid");
            if (!File.Exists(file))
            {
                return null;
            }
            var first = File.ReadLines(file).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsAlive(pid) ? pid : null;
        }
    }

    /// <summary>Start makes a new server with an empty database `fleet` and waits until it accepts connections.</summary>
    public static Postgres Start()
    {
        foreach (var tool in new[] { "initdb", "pg_ctl", "postgres", "createdb" })
        {
            if (!File.Exists(Path.Combine(BinDir, tool)))
            {
                throw new InvalidOperationException($"PostgreSQL 15 is not installed ({BinDir}/{tool} is missing): apt-get install postgresql-15 (scripts/deps lists it)");
            }
        }
        var root = Directory.CreateTempSubdirectory("fleet-e2e-pg-").FullName;
        var server = new Postgres(root, TestPorts.Free());
        try
        {
            Must("chown", "-R", $"{OsUser}:{OsUser}", root);
            server.AsPostgres("initdb", "-D", server.DataDir, "-U", User, "--auth=trust", "--encoding=UTF8", "--no-sync");
            server.StartServer();
            server.AsPostgres("createdb", "-h", "127.0.0.1", "-p", Num(server.Port), "-U", User, Database);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Stop stops the server at once (pg_ctl stop -m immediate, which signals the PID in postmaster.pid), as a crash or an outage would.</summary>
    public void Stop()
    {
        if (Pid is not { } pid)
        {
            return;
        }
        var (code, output) = FleetNode.Run("runuser", "-u", OsUser, "--", Path.Combine(BinDir, "pg_ctl"), "stop", "-D", DataDir, "-m", "immediate", "-w", "-t", "30");
        if (code != 0 && IsAlive(pid))
        {
            // pg_ctl could not stop it: kill -9 of that one PID (its children exit with it).
            _ = FleetNode.Run("kill", "-KILL", Num(pid));
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (IsAlive(pid) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }
        if (IsAlive(pid))
        {
            throw new InvalidOperationException($"postgres {pid} did not stop: {output}");
        }
    }

    /// <summary>StartServer starts (or starts again) the server on its data dir and port and waits until it accepts connections.</summary>
    public void StartServer()
    {
        var options = string.Join(' ',
            "-c", "listen_addresses=127.0.0.1",
            "-p", Num(Port),
            "-c", $"unix_socket_directories={Root}",
            "-c", "fsync=off",
            "-c", "max_connections=100");
        AsPostgres("pg_ctl", "start", "-D", DataDir, "-l", LogFile, "-w", "-t", "60", "-o", options);
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>ServerLog is the server's log file, for failure messages.</summary>
    public string ServerLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no server log)";

    private void AsPostgres(string tool, params string[] args)
    {
        var (code, output) = FleetNode.Run("runuser", ["-u", OsUser, "--", Path.Combine(BinDir, tool), .. args]);
        if (code != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed with {code}:\n{output}\n--- server log\n{ServerLog()}");
        }
    }

    private static void Must(string file, params string[] args)
    {
        var (code, output) = FleetNode.Run(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed with {code}: {output}");
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
