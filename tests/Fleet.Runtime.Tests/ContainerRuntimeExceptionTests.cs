using Fleet.Runtime.Native;

namespace Fleet.Runtime.Tests;

public sealed class ContainerRuntimeExceptionTests
{
    [Theory]
    [InlineData("start", "web-1", Errno.ENOENT, "container `web-1` does not exist", "start container `web-1`: container `web-1` does not exist (ENOENT)")]
    [InlineData("create", "web-1", 0, "config.json: `process.args` is empty", "create container `web-1`: config.json: `process.args` is empty")]
    [InlineData("list", null, Errno.EACCES, "open /run/fleet: Permission denied", "list: open /run/fleet: Permission denied (EACCES)")]
    [InlineData("kill", "a", 99, "odd", "kill container `a`: odd (errno 99)")]
    [InlineData("create", "a", Errno.EROFS, "create container `a`: open `/x`: Read-only file system", "create container `a`: open `/x`: Read-only file system (EROFS)")]
    public void Message_names_operation_container_cause_and_errno(string op, string? id, int errno, string native, string expected)
    {
        var error = new ContainerRuntimeException(op, id, errno, native);
        Assert.Equal(expected, error.Message);
        Assert.Equal(native, error.NativeMessage);
        Assert.Equal(errno, error.Errno);
    }

    [Theory]
    [InlineData("create container `a`: linux.sysctl.x: open `/proc/sys/x`: Read-only file system", Errno.EROFS)]
    [InlineData("rootfs `/b/rootfs`: No such file or directory", Errno.ENOENT)]
    [InlineData("config.json: process.args: expected an array", 0)]
    [InlineData("kill: No such process", Errno.ESRCH)]
    public void Errno_is_recovered_from_a_message_that_travelled_as_text(string message, int errno)
    {
        Assert.Equal(errno, Errno.FromStrerrorSuffix(message));
    }
}
