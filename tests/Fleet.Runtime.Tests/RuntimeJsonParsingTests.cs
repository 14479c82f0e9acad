namespace Fleet.Runtime.Tests;

/// <summary>These read the JSON shapes libfleetrt promises (OCI state; snake_case stats) without the library.</summary>
public sealed class RuntimeJsonParsingTests
{
    [Theory]
    [InlineData("created", ContainerStatus.Created)]
    [InlineData("running", ContainerStatus.Running)]
    [InlineData("paused", ContainerStatus.Paused)]
    [InlineData("stopped", ContainerStatus.Stopped)]
    [InlineData("creating", ContainerStatus.Creating)]
    [InlineData("exploded", ContainerStatus.Unknown)]
    public void State_json_is_read_as_the_OCI_state(string status, ContainerStatus expected)
    {
        var json = """{"ociVersion":"1.2.0","id":"web-1","status":"STATUS","pid":4242,"bundle":"/b/web-1","annotations":{"org.fleet.service":"web"}}"""
            .Replace("STATUS", status, StringComparison.Ordinal);
        var state = NativeContainerRuntime.ParseState(json, "state", "web-1");
        Assert.Equal("web-1", state.Id);
        Assert.Equal(expected, state.Status);
        Assert.Equal(status, state.StatusText);
        Assert.Equal(4242, state.Pid);
        Assert.Equal("/b/web-1", state.Bundle);
        Assert.Equal("1.2.0", state.OciVersion);
        Assert.Equal("web", state.Annotations["org.fleet.service"]);
    }

    [Fact]
    public void Fleet_additions_to_the_state_are_read()
    {
        const string json = """{"ociVersion":"1.0.2","id":"a","status":"stopped","pid":0,"bundle":"/b","created":"2026-11-28T00:28:18.123456789Z","shim_pid":77,"exit_code":137,"exit_signal":9,"oom_killed":true}""";
        var state = NativeContainerRuntime.ParseState(json, "state", "a");
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 0, 28, 18, TimeSpan.Zero), state.Created?.AddTicks(-(state.Created.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal(77, state.ShimPid);
        Assert.Equal(137, state.ExitCode);
        Assert.Equal(9, state.ExitSignal);
        Assert.True(state.OomKilled);
    }

    [Theory]
    [InlineData("""{"id":"a","status":"running","annotations":{"org.fleet.stop-signal":"3"}}""", 3)]
    [InlineData("""{"id":"a","status":"running","annotations":{"org.fleet.stop-signal":"junk"}}""", 15)]
    [InlineData("""{"id":"a","status":"running"}""", 15)]
    public void Stop_signal_comes_from_the_annotation_written_by_the_builder(string json, int expected)
    {
        Assert.Equal(expected, NativeContainerRuntime.ParseState(json, "state", "a").StopSignal);
    }

    [Theory]
    [InlineData("""{"id":"a","status":"running","annotations":{"org.fleet.stop-grace-period-ms":"1500"}}""", 1500)]
    [InlineData("""{"id":"a","status":"running","annotations":{"org.fleet.stop-grace-period-ms":"0"}}""", 0)]
    [InlineData("""{"id":"a","status":"running","annotations":{"org.fleet.stop-grace-period-ms":"-5"}}""", null)]
    [InlineData("""{"id":"a","status":"running"}""", null)]
    public void Stop_grace_period_comes_from_the_annotation_or_is_left_to_the_node(string json, int? expectedMs)
    {
        Assert.Equal(expectedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, NativeContainerRuntime.ParseState(json, "state", "a").StopGracePeriod);
    }

    [Fact]
    public void State_without_annotations_or_pid_is_read()
    {
        var state = NativeContainerRuntime.ParseState("""{"ociVersion":"1.2.0","id":"a","status":"stopped","bundle":"/b"}""", "state", "a");
        Assert.Equal(0, state.Pid);
        Assert.Empty(state.Annotations);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"id": 5}""")]
    [InlineData("null")]
    public void Malformed_state_is_a_runtime_error_naming_the_container(string json)
    {
        var error = Assert.Throws<ContainerRuntimeException>(() => NativeContainerRuntime.ParseState(json, "state", "web-1"));
        Assert.Equal("web-1", error.ContainerId);
        Assert.Contains("state JSON that does not parse", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stats_json_keys_are_snake_case()
    {
        const string json = """{"cpu_usage_ns":123456789,"memory_usage_bytes":1048576,"memory_peak_bytes":2097152,"memory_limit_bytes":16777216,"pids_current":3,"oom_kills":1}""";
        var stats = NativeContainerRuntime.ParseStats(json, "a");
        Assert.Equal(new ContainerStats(123456789, 1048576, 2097152, 16777216, 3, 1), stats);
    }

    [Theory]
    [InlineData("9223372036854771712")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("null")]
    public void Unlimited_memory_is_a_null_limit(string limit)
    {
        var json = $$"""{"cpu_usage_ns":1,"memory_usage_bytes":1,"memory_peak_bytes":1,"memory_limit_bytes":{{limit}},"pids_current":1,"oom_kills":0}""";
        Assert.Null(NativeContainerRuntime.ParseStats(json, "a").MemoryLimitBytes);
    }

    [Theory]
    [InlineData("""[{"ociVersion":"1.2.0","id":"a","status":"running","pid":1,"bundle":"/b/a"},{"ociVersion":"1.2.0","id":"b","status":"stopped","pid":0,"bundle":"/b/b"}]""")]
    [InlineData("""{"containers":[{"ociVersion":"1.2.0","id":"a","status":"running","pid":1,"bundle":"/b/a"},{"ociVersion":"1.2.0","id":"b","status":"stopped","pid":0,"bundle":"/b/b"}]}""")]
    public void List_json_is_an_array_of_states(string json)
    {
        var list = NativeContainerRuntime.ParseList(json);
        Assert.Equal(["a", "b"], list.Select(s => s.Id));
        Assert.Equal([ContainerStatus.Running, ContainerStatus.Stopped], list.Select(s => s.Status));
    }

    [Fact]
    public void Empty_list_is_empty()
    {
        Assert.Empty(NativeContainerRuntime.ParseList("[]"));
    }

    [Fact]
    public void List_that_is_not_an_array_is_a_runtime_error()
    {
        var error = Assert.Throws<ContainerRuntimeException>(() => NativeContainerRuntime.ParseList("""{"a":1}"""));
        Assert.Equal("list", error.Operation);
    }
}
