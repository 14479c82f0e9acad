using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

/// <summary>cluster.yaml's `rebalance:` block: defaults, every field, and each mistake reported where it is.</summary>
public sealed class ClusterSpecRebalanceTests
{
    private const string Nodes = "nodes:\n  - { name: a, address: 127.0.0.1 }\n";

    private static RebalanceSettings Load(string rebalance)
    {
        var set = SpecLoader.Load(FileName, $"kind: Cluster\nname: c\n{rebalance}{Nodes}");
        Assert.True(set.IsValid, string.Join(Environment.NewLine, set.Diagnostics));
        return Assert.Single(set.Clusters).Rebalance;
    }

    [Fact]
    public void Without_a_block_rebalancing_is_on_with_safe_defaults()
    {
        var settings = Load("");

        Assert.Equal(new RebalanceSettings(), settings);
        Assert.Equal((true, 2, false, 2, 0.2, TimeSpan.FromSeconds(15)),
            (settings.Enabled, settings.MaxConcurrent, settings.Stateful, settings.Threshold, settings.LoadGap, settings.SettleDelay));
    }

    [Fact]
    public void Every_field_is_read()
    {
        var settings = Load("rebalance: { enabled: false, maxConcurrent: 5, stateful: true, threshold: 3, loadGap: 35%, settleDelay: 1m30s }\n");

        Assert.Equal(new RebalanceSettings { Enabled = false, MaxConcurrent = 5, Stateful = true, Threshold = 3, LoadGap = 0.35, SettleDelay = TimeSpan.FromSeconds(90) }, settings);
    }

    [Fact]
    public void A_partial_block_keeps_the_other_defaults()
    {
        Assert.Equal(new RebalanceSettings { SettleDelay = TimeSpan.FromSeconds(2) }, Load("rebalance:\n  settleDelay: 2s\n"));
    }

    [Theory]
    [InlineData("rebalance: { threshold: 1 }\n", 3, 25, "rebalance.threshold: 1 would flap")]
    [InlineData("rebalance: { maxConcurrent: 0 }\n", 3, 29, "rebalance.maxConcurrent")]
    [InlineData("rebalance: { enabled: sometimes }\n", 3, 23, "rebalance.enabled: expected true or false")]
    [InlineData("rebalance: { settleDelay: 15 }\n", 3, 27, "rebalance.settleDelay: invalid duration `15`")]
    [InlineData("rebalance: { loadGap: 150% }\n", 3, 23, "rebalance.loadGap: 150% is outside 0%..100%")]
    [InlineData("rebalance: { loadGap: 0.2 }\n", 3, 23, "rebalance.loadGap: invalid percentage")]
    [InlineData("rebalance: { maxConcurent: 2 }\n", 3, 14, "maxConcurent")]
    public void Mistakes_are_reported_where_they_are(string rebalance, int line, int column, string contains)
    {
        SingleError($"kind: Cluster\nname: c\n{rebalance}{Nodes}", line, column, contains);
    }
}
