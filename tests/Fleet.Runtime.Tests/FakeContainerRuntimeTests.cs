using Fleet.Runtime.Native;

namespace Fleet.Runtime.Tests;

public sealed class FakeContainerRuntimeTests
{
    private static CreateContainerRequest Request(string id) => new() { Id = id, BundlePath = "/bundles/" + id };

    [Fact]
    public async Task Lifecycle_walks_the_OCI_state_machine()
    {
        var runtime = new FakeContainerRuntime();
        var created = await runtime.CreateAsync(Request("web-1"));
        Assert.Equal(ContainerStatus.Created, created.Status);
        Assert.True(created.Pid > 0);
        Assert.Equal("/bundles/web-1", created.Bundle);

        runtime.Start("web-1");
        Assert.Equal(ContainerStatus.Running, runtime.State("web-1").Status);
        runtime.Pause("web-1");
        Assert.Equal(ContainerStatus.Paused, runtime.State("web-1").Status);
        runtime.Resume("web-1");
        Assert.Equal(ContainerStatus.Running, runtime.State("web-1").Status);
        runtime.Kill("web-1", 15);
        var stopped = runtime.State("web-1");
        Assert.Equal(ContainerStatus.Stopped, stopped.Status);
        Assert.Equal(0, stopped.Pid);
        Assert.Equal([15], runtime.SignalsSent("web-1"));

        runtime.Delete("web-1");
        Assert.Empty(runtime.List());
        Assert.Equal(1, runtime.Created);
    }

    [Theory]
    [InlineData("start", "web-1", Errno.ENOENT)]
    [InlineData("state", "web-1", Errno.ENOENT)]
    [InlineData("kill", "web-1", Errno.ENOENT)]
    [InlineData("delete", "web-1", Errno.ENOENT)]
    [InlineData("pause", "web-1", Errno.ENOENT)]
    [InlineData("resume", "web-1", Errno.ENOENT)]
    [InlineData("stats", "web-1", Errno.ENOENT)]
    public void Unknown_container_fails_with_ENOENT_naming_operation_and_id(string op, string id, int errno)
    {
        var runtime = new FakeContainerRuntime();
        Action call = op switch
        {
            "start" => () => runtime.Start(id),
            "state" => () => runtime.State(id),
            "kill" => () => runtime.Kill(id, 9),
            "delete" => () => runtime.Delete(id),
            "pause" => () => runtime.Pause(id),
            "resume" => () => runtime.Resume(id),
            _ => () => runtime.Stats(id),
        };
        var error = Assert.Throws<ContainerRuntimeException>(call);
        Assert.Equal(errno, error.Errno);
        Assert.True(error.IsNotFound);
        Assert.Equal(op, error.Operation);
        Assert.Equal(id, error.ContainerId);
        Assert.StartsWith($"{op} container `{id}`: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_state_transitions_fail_like_the_runtime()
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        Assert.Equal(Errno.EEXIST, (await Assert.ThrowsAsync<ContainerRuntimeException>(() => runtime.CreateAsync(Request("a")))).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<ContainerRuntimeException>(() => runtime.Pause("a")).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<ContainerRuntimeException>(() => runtime.Resume("a")).Errno);
        Assert.Equal(Errno.EBUSY, Assert.Throws<ContainerRuntimeException>(() => runtime.Delete("a")).Errno);
        runtime.Start("a");
        Assert.Equal(Errno.EINVAL, Assert.Throws<ContainerRuntimeException>(() => runtime.Start("a")).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<ContainerRuntimeException>(() => runtime.Kill("a", 0)).Errno);
        runtime.Exit("a");
        Assert.Equal(Errno.ESRCH, Assert.Throws<ContainerRuntimeException>(() => runtime.Kill("a", 9)).Errno);
        runtime.Delete("a");
    }

    [Fact]
    public async Task Force_delete_removes_a_running_container()
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        runtime.Start("a");
        runtime.Delete("a", force: true);
        Assert.True(Assert.Throws<ContainerRuntimeException>(() => runtime.State("a")).IsNotFound);
    }

    [Theory]
    [InlineData(9, ContainerStatus.Stopped)]
    [InlineData(15, ContainerStatus.Paused)]
    [InlineData(28, ContainerStatus.Paused)]
    public async Task Paused_container_ends_only_on_SIGKILL(int signal, ContainerStatus expected)
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        runtime.Start("a");
        runtime.Pause("a");
        runtime.Kill("a", signal);
        Assert.Equal(expected, runtime.State("a").Status);
    }

    [Theory]
    [InlineData(28, ContainerStatus.Running)]
    [InlineData(10, ContainerStatus.Stopped)]
    [InlineData(1, ContainerStatus.Stopped)]
    public async Task Running_container_stops_on_signals_that_end_a_process(int signal, ContainerStatus expected)
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        runtime.Start("a");
        runtime.Kill("a", signal);
        Assert.Equal(expected, runtime.State("a").Status);
    }

    [Theory]
    [InlineData(0, 0, false, 0)]
    [InlineData(3, 0, false, 3)]
    [InlineData(0, 9, true, 137)]
    public async Task Exit_reports_code_signal_and_OOM_like_libfleetrt(int code, int signal, bool oom, int expected)
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        runtime.Start("a");
        runtime.Exit("a", code, signal, oom);
        var state = runtime.State("a");
        Assert.Equal(ContainerStatus.Stopped, state.Status);
        Assert.Equal(expected, state.ExitCode);
        Assert.Equal(signal, state.ExitSignal);
        Assert.Equal(oom, state.OomKilled);
    }

    [Fact]
    public async Task Kill_reports_128_plus_the_signal()
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        runtime.Start("a");
        runtime.Kill("a", 15);
        Assert.Equal(143, runtime.State("a").ExitCode);
    }

    [Fact]
    public async Task Injected_failure_fails_once_with_the_given_errno()
    {
        var runtime = new FakeContainerRuntime();
        runtime.FailNext("create", Errno.ENOSPC, "no space left on device");
        var error = await Assert.ThrowsAsync<ContainerRuntimeException>(() => runtime.CreateAsync(Request("a")));
        Assert.Equal(Errno.ENOSPC, error.Errno);
        Assert.Equal("create container `a`: no space left on device (ENOSPC)", error.Message);
        await runtime.CreateAsync(Request("a"));
        Assert.Single(runtime.List());
    }

    [Fact]
    public async Task Stats_are_what_the_test_set()
    {
        var runtime = new FakeContainerRuntime();
        await runtime.CreateAsync(Request("a"));
        var stats = new ContainerStats(5, 6, 7, 8, 9, 1);
        runtime.SetStats("a", stats);
        Assert.Equal(stats, runtime.Stats("a"));
    }
}
