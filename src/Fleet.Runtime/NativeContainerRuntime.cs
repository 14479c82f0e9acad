using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Fleet.Runtime.Native;

namespace Fleet.Runtime;

/// <summary>NativeContainerRuntimeOptions say where containers' state lives and how they are created.</summary>
public sealed record NativeContainerRuntimeOptions
{
    /// <summary>DefaultCreateTimeout bounds the wait for a shim to create its container.</summary>
    public static readonly TimeSpan DefaultCreateTimeout = TimeSpan.FromSeconds(30);

    /// <summary>StateRoot is the directory holding one state directory per container (runc's --root).</summary>
    public required string StateRoot { get; init; }

    /// <summary>ShimPath is the fleet-shim executable; by default the one beside the assemblies.</summary>
    public string ShimPath { get; init; } = NativeRuntimeInfo.ShimPath;

    public TimeSpan CreateTimeout { get; init; } = DefaultCreateTimeout;
}

/// <summary>
/// NativeContainerRuntime is <see cref="IContainerRuntime"/> over libfleetrt: state, start,
/// kill, delete, pause, resume, stats and list are in-process calls that never fork; create
/// spawns the container's fleet-shim, which forks in its own single-threaded process.
/// </summary>
/// <remarks>
/// The shim forks, detaches (setsid) and reports on its stdout, given as <c>--ready-fd 1</c>:
/// <c>ok PID</c> once the container is created, or <c>error MESSAGE</c>. It then puts /dev/null
/// on its stdio, so nothing of this process stays open in it. Without a log file the container
/// inherits the shim's stderr (this process's) and has no stdout.
/// </remarks>
public sealed class NativeContainerRuntime : IContainerRuntime
{
    private readonly NativeContainerRuntimeOptions _options;

    /// <summary>
    /// Creates the runtime after checking that libfleetrt loads and exports every function the
    /// binding calls; a <see cref="ContainerRuntimeException"/> lists what is missing.
    /// </summary>
    public NativeContainerRuntime(NativeContainerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Path.IsPathRooted(options.StateRoot))
        {
            throw new ArgumentException($"the state root `{options.StateRoot}` is not an absolute path", nameof(options));
        }
        var missing = NativeLibraryProbe.MissingExports();
        if (missing.Count > 0)
        {
            throw new ContainerRuntimeException("load libfleetrt", null, 0,
                $"libfleetrt lacks {string.Join(", ", missing)}: the native library beside the assemblies is older than this binding");
        }
        _options = options;
    }

    /// <summary>StateRoot is where this runtime keeps container state.</summary>
    public string StateRoot => _options.StateRoot;

    /// <inheritdoc/>
    public async Task<ContainerState> CreateAsync(CreateContainerRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        const string op = "create";
        CheckId(op, request.Id);
        var bundle = Path.GetFullPath(request.BundlePath);
        if (!File.Exists(Path.Combine(bundle, "config.json")))
        {
            throw new ContainerRuntimeException(op, request.Id, Errno.ENOENT, $"bundle `{bundle}` has no config.json");
        }
        Directory.CreateDirectory(_options.StateRoot);

        // stdout is the shim's ready channel (--ready-fd 1). stderr is captured only when the
        // container logs to a file: otherwise the container inherits the shim's stderr, and it
        // must not be a pipe this process closes.
        var start = new ProcessStartInfo(_options.ShimPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = request.LogPath is not null,
        };
        foreach (var arg in ShimArguments(request, bundle))
        {
            start.ArgumentList.Add(arg);
        }

        Process shim;
        try
        {
            shim = Process.Start(start) ?? throw new ContainerRuntimeException(op, request.Id, 0, $"could not start `{_options.ShimPath}`");
        }
        catch (Win32Exception e)
        {
            throw new ContainerRuntimeException(op, request.Id, e.NativeErrorCode, $"cannot run fleet-shim `{_options.ShimPath}`: {e.Message}", e);
        }

        using (shim)
        {
            var stderr = new StringBuilder();
            if (start.RedirectStandardError)
            {
                shim.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is not null)
                    {
                        lock (stderr)
                        {
                            stderr.AppendLine(e.Data);
                        }
                    }
                };
                shim.BeginErrorReadLine();
            }
            shim.StandardInput.Close();

            string? line;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(_options.CreateTimeout);
                try
                {
                    line = await shim.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Abandon(request.Id, shim);
                    var cancelled = cancellationToken.IsCancellationRequested;
                    throw new ContainerRuntimeException(op, request.Id, cancelled ? Errno.ECANCELED : Errno.ETIMEDOUT,
                        cancelled
                            ? "cancelled while fleet-shim was creating the container"
                            : $"fleet-shim did not report within {_options.CreateTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
                }
            }

            if (line is not null && line.StartsWith("ok", StringComparison.Ordinal))
            {
                return State(request.Id);
            }
            if (line is not null && line.StartsWith("error ", StringComparison.Ordinal))
            {
                var message = line["error ".Length..];
                throw new ContainerRuntimeException(op, request.Id, Errno.FromStrerrorSuffix(message), message);
            }

            // No report: the shim died before it could, or refused its arguments.
            var text = await DrainAsync(shim, stderr).ConfigureAwait(false);
            var status = shim.HasExited ? $"exited with status {shim.ExitCode.ToString(CultureInfo.InvariantCulture)}" : "closed its ready channel";
            throw new ContainerRuntimeException(op, request.Id, 0,
                $"fleet-shim {status} without reporting" + (line is null ? "" : $" (it wrote `{line}`)") + (text.Length > 0 ? ": " + text : ""));
        }
    }

    private IEnumerable<string> ShimArguments(CreateContainerRequest request, string bundle)
    {
        yield return "--root";
        yield return _options.StateRoot;
        yield return "--id";
        yield return request.Id;
        yield return "--bundle";
        yield return bundle;
        yield return "--ready-fd";
        yield return "1";
        if (request.LogPath is not null)
        {
            yield return "--log";
            yield return request.LogPath;
        }
        if (request.LogMaxBytes is { } maxBytes)
        {
            yield return "--log-max-bytes";
            yield return maxBytes.ToString(CultureInfo.InvariantCulture);
        }
        if (request.LogFiles is { } files)
        {
            yield return "--log-files";
            yield return files.ToString(CultureInfo.InvariantCulture);
        }
    }

    // Gives up on a create: the process we spawned is killed and whatever the shim made is removed.
    private void Abandon(string id, Process shim)
    {
        try
        {
            if (!shim.HasExited)
            {
                shim.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
        if (TryState(id, out var state, out _) && state.ShimPid is > 0 and var shimPid)
        {
            try
            {
                using var detached = Process.GetProcessById(shimPid);
                detached.Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            catch (InvalidOperationException)
            {
            }
        }
        NativeMethods.ContainerDelete(_options.StateRoot, id, 1, out var err);
        err.Dispose();
    }

    // Reads what the shim wrote to stderr, waiting briefly for end of file.
    private static async Task<string> DrainAsync(Process shim, StringBuilder stderr)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        try
        {
            await shim.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Take what arrived.
        }
        lock (stderr)
        {
            return stderr.ToString().Trim();
        }
    }

    /// <inheritdoc/>
    public void Start(string id)
    {
        CheckId("start", id);
        var rc = NativeMethods.ContainerStart(_options.StateRoot, id, out var err);
        Check(rc, err, "start", id);
    }

    /// <inheritdoc/>
    public ContainerState State(string id)
    {
        CheckId("state", id);
        var rc = NativeMethods.ContainerStateJson(_options.StateRoot, id, out var json, out var err);
        using (json)
        {
            Check(rc, err, "state", id);
            return ParseState(ReadJson(json, "state", id), "state", id);
        }
    }

    private bool TryState(string id, out ContainerState state, out ContainerRuntimeException? error)
    {
        try
        {
            state = State(id);
            error = null;
            return true;
        }
        catch (ContainerRuntimeException e)
        {
            state = null!;
            error = e;
            return false;
        }
    }

    /// <inheritdoc/>
    public void Kill(string id, int signal)
    {
        CheckId("kill", id);
        if (signal is < 1 or > 64)
        {
            throw new ContainerRuntimeException("kill", id, Errno.EINVAL, $"invalid signal {signal.ToString(CultureInfo.InvariantCulture)}");
        }
        var rc = NativeMethods.ContainerKill(_options.StateRoot, id, signal, out var err);
        Check(rc, err, "kill", id);
    }

    /// <inheritdoc/>
    public void Delete(string id, bool force = false)
    {
        CheckId("delete", id);
        var rc = NativeMethods.ContainerDelete(_options.StateRoot, id, force ? 1 : 0, out var err);
        Check(rc, err, "delete", id);
    }

    /// <inheritdoc/>
    public void Pause(string id)
    {
        CheckId("pause", id);
        var rc = NativeMethods.ContainerPause(_options.StateRoot, id, out var err);
        Check(rc, err, "pause", id);
    }

    /// <inheritdoc/>
    public void Resume(string id)
    {
        CheckId("resume", id);
        var rc = NativeMethods.ContainerResume(_options.StateRoot, id, out var err);
        Check(rc, err, "resume", id);
    }

    /// <inheritdoc/>
    public ContainerStats Stats(string id)
    {
        CheckId("stats", id);
        var rc = NativeMethods.ContainerStatsJson(_options.StateRoot, id, out var json, out var err);
        using (json)
        {
            Check(rc, err, "stats", id);
            return ParseStats(ReadJson(json, "stats", id), id);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ContainerState> List()
    {
        var rc = NativeMethods.ContainerListJson(_options.StateRoot, out var json, out var err);
        using (json)
        {
            Check(rc, err, "list", null);
            return ParseList(ReadJson(json, "list", null));
        }
    }

    /// <summary>ParseState reads one OCI state object.</summary>
    internal static ContainerState ParseState(string json, string op, string? id)
    {
        OciStateDto dto;
        try
        {
            dto = JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.OciStateDto)
                ?? throw new JsonException("the state is `null`");
        }
        catch (JsonException e)
        {
            throw new ContainerRuntimeException(op, id, 0, $"libfleetrt returned state JSON that does not parse: {e.Message}", e);
        }
        return ToState(dto);
    }

    /// <summary>ParseList reads a JSON array of OCI state objects (or an object holding one as <c>containers</c>).</summary>
    internal static IReadOnlyList<ContainerState> ParseList(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var array = document.RootElement;
            if (array.ValueKind == JsonValueKind.Object && array.TryGetProperty("containers", out var inner))
            {
                array = inner;
            }
            if (array.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException($"expected an array of states, found {array.ValueKind}");
            }
            return array.EnumerateArray()
                .Select(e => ToState(e.Deserialize(RuntimeJsonContext.Default.OciStateDto) ?? throw new JsonException("a state is `null`")))
                .ToList();
        }
        catch (JsonException e)
        {
            throw new ContainerRuntimeException("list", null, 0, $"libfleetrt returned list JSON that does not parse: {e.Message}", e);
        }
    }

    /// <summary>ParseStats reads the stats object; a memory limit of the kernel's "unlimited" becomes null.</summary>
    internal static ContainerStats ParseStats(string json, string? id)
    {
        StatsDto dto;
        try
        {
            dto = JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.StatsDto)
                ?? throw new JsonException("the stats are `null`");
        }
        catch (JsonException e)
        {
            throw new ContainerRuntimeException("stats", id, 0, $"libfleetrt returned stats JSON that does not parse: {e.Message}", e);
        }
        // libfleetrt says -1 for "no limit"; cgroup v1's own LONG_MAX rounded to a page means the same.
        var limit = dto.MemoryLimitBytes is > 0 and < 0x7FFF_FFFF_FFFF_F000L ? (ulong?)dto.MemoryLimitBytes : null;
        return new ContainerStats(dto.CpuUsageNs, dto.MemoryUsageBytes, dto.MemoryPeakBytes, limit, dto.PidsCurrent, dto.OomKills);
    }

    private static ContainerState ToState(OciStateDto dto) => new()
    {
        Id = dto.Id,
        Status = ContainerState.ParseStatus(dto.Status),
        StatusText = dto.Status,
        Pid = dto.Pid,
        Bundle = dto.Bundle,
        OciVersion = dto.OciVersion,
        Annotations = dto.Annotations ?? [],
        Created = DateTimeOffset.TryParse(dto.Created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created) ? created : null,
        ShimPid = dto.ShimPid,
        ExitCode = dto.ExitCode,
        ExitSignal = dto.ExitSignal,
        OomKilled = dto.OomKilled ?? false,
    };

    private static string ReadJson(FleetrtStringHandle json, string op, string? id) =>
        json.Read() ?? throw new ContainerRuntimeException(op, id, 0, "libfleetrt reported success but returned no JSON");

    // Turns the C convention (negative return, *err set) into an exception and frees the error.
    private static void Check(int rc, FleetrtErrorHandle err, string op, string? id)
    {
        using (err)
        {
            if (rc >= 0)
            {
                return;
            }
            if (err.IsInvalid)
            {
                throw new ContainerRuntimeException(op, id, 0,
                    $"libfleetrt returned {rc.ToString(CultureInfo.InvariantCulture)} without an error");
            }
            throw new ContainerRuntimeException(op, id, err.Errno, err.Message);
        }
    }

    private static void CheckId(string op, string id)
    {
        if (string.IsNullOrEmpty(id) || id.Contains('/', StringComparison.Ordinal) || id is "." or "..")
        {
            throw new ContainerRuntimeException(op, id, Errno.EINVAL, $"invalid container id `{id}`");
        }
    }
}
