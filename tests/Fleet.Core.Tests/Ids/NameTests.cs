using Fleet.Core.Ids;

namespace Fleet.Core.Tests.Ids;

public sealed class NameTests
{
    [Theory]
    [InlineData("web")]
    [InlineData("a")]
    [InlineData("api-v2")]
    [InlineData("x123")]
    public void Service_name_accepts_dns_labels(string text)
    {
        Assert.Equal(text, ServiceName.Parse(text).Value);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("Web", "lowercase")]
    [InlineData("1web", "starting with a letter")]
    [InlineData("web-", "ending with a letter or digit")]
    [InlineData("web_1", "lowercase letters")]
    [InlineData("web.api", "lowercase letters")]
    public void Service_name_refuses_what_is_not_a_dns_label(string text, string reason)
    {
        Assert.False(ServiceName.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_name_longer_than_a_dns_label_is_refused()
    {
        Assert.True(ServiceName.TryParse(new string('a', 63), out _, out _));
        Assert.False(ServiceName.TryParse(new string('a', 64), out _, out var error));
        Assert.Contains("64 characters long; at most 63", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("node1", true)]
    [InlineData("rack2.node1", true)]
    [InlineData("10-0-0-5", true)]
    [InlineData("Node1", false)]
    [InlineData("node_1", false)]
    [InlineData(".node", false)]
    [InlineData("", false)]
    public void Node_name_is_a_lowercase_dns_name(string text, bool valid)
    {
        Assert.Equal(valid, NodeName.TryParse(text, out _, out var error));
        Assert.Equal(valid, error.Length == 0);
    }

    [Theory]
    [InlineData("data", true)]
    [InlineData("Web_Data.1-x", true)]
    [InlineData("-data", false)]
    [InlineData("a/b", false)]
    [InlineData(".hidden", false)]
    [InlineData("", false)]
    public void Volume_name_follows_docker_rules(string text, bool valid)
    {
        Assert.Equal(valid, VolumeName.TryParse(text, out _, out _));
    }

    [Fact]
    public void Replica_id_new_is_service_dash_random_suffix_and_deterministic_for_a_seed()
    {
        var service = ServiceName.Parse("web");
        var first = ReplicaId.New(service, new Random(42));
        var again = ReplicaId.New(service, new Random(42));
        var other = ReplicaId.New(service, new Random(43));

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Matches("^web-[a-z0-9]{5}$", first.ToString());
        Assert.Equal(first, ReplicaId.Parse(first.ToString()));
    }

    [Fact]
    public void Replica_id_parses_services_with_hyphens_at_the_last_hyphen()
    {
        var id = ReplicaId.Parse("api-v2-7k2xq");
        Assert.Equal("api-v2", id.Service.Value);
        Assert.Equal("7k2xq", id.Suffix);
    }

    [Theory]
    [InlineData("web", "expected <service>-<suffix>")]
    [InlineData("web-", "expected <service>-<suffix>")]
    [InlineData("Web-abc", "lowercase")]
    [InlineData("web-ABC", "suffix must be")]
    public void Replica_id_refuses_malformed_text(string text, string reason)
    {
        Assert.False(ReplicaId.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
