using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Networking;

public sealed class ResolvConfTests
{
    [Fact]
    public void Loopback_nameservers_are_removed_and_the_rest_is_kept()
    {
        var host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nsearch example.org\noptions edns0\n";
        Assert.Equal("# generated\nnameserver 10.255.255.53\nsearch example.org\noptions edns0\n", ResolvConf.ForReplica(host));
    }

    [Fact]
    public void Only_loopback_nameservers_fall_back_to_dockers_public_resolvers()
    {
        var replica = ResolvConf.ForReplica("nameserver 127.0.0.53\nsearch lan\n");
        Assert.Contains("search lan\n", replica, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.53", replica, StringComparison.Ordinal);
        Assert.EndsWith("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", replica, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_host_file_gives_the_fallback()
    {
        Assert.Contains("nameserver 8.8.8.8", ResolvConf.FromHostFile("/nonexistent/resolv.conf"), StringComparison.Ordinal);
    }
}
