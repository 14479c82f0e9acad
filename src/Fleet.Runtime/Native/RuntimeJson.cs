using System.Text.Json.Serialization;

namespace Fleet.Runtime.Native;

/// <summary>OciStateDto is the OCI state JSON libfleetrt returns, with Fleet's additions (exit, shim).</summary>
internal sealed record OciStateDto
{
    public string OciVersion { get; init; } = "";

    public string Id { get; init; } = "";

    public string Status { get; init; } = "";

    public int Pid { get; init; }

    public string Bundle { get; init; } = "";

    public Dictionary<string, string>? Annotations { get; init; }

    public string? Created { get; init; }

    [JsonPropertyName("shim_pid")]
    public int? ShimPid { get; init; }

    [JsonPropertyName("exit_code")]
    public int? ExitCode { get; init; }

    [JsonPropertyName("exit_signal")]
    public int? ExitSignal { get; init; }

    [JsonPropertyName("oom_killed")]
    public bool? OomKilled { get; init; }
}

/// <summary>StatsDto is libfleetrt's stats JSON; its keys are snake_case.</summary>
internal sealed record StatsDto
{
    [JsonPropertyName("cpu_usage_ns")]
    public ulong CpuUsageNs { get; init; }

    [JsonPropertyName("memory_usage_bytes")]
    public ulong MemoryUsageBytes { get; init; }

    [JsonPropertyName("memory_peak_bytes")]
    public ulong MemoryPeakBytes { get; init; }

    // -1 when unlimited.
    [JsonPropertyName("memory_limit_bytes")]
    public long? MemoryLimitBytes { get; init; }

    [JsonPropertyName("pids_current")]
    public ulong PidsCurrent { get; init; }

    [JsonPropertyName("oom_kills")]
    public ulong OomKills { get; init; }
}

/// <summary>RuntimeJsonContext is the source-generated reader for libfleetrt's state, list and stats JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(OciStateDto))]
[JsonSerializable(typeof(List<OciStateDto>))]
[JsonSerializable(typeof(StatsDto))]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
