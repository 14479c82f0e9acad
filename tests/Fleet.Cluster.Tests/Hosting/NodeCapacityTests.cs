using Fleet.Cluster.Hosting;
using Fleet.Core.Quantities;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>What a node offers when cluster.yaml does not say, measured on this machine.</summary>
public sealed class NodeCapacityTests
{
    [Theory]
    [InlineData("MemTotal:       16318412 kB", 16318412L * 1024)]
    [InlineData("MemTotal: 1024 kB", 1024L * 1024)]
    [InlineData("MemTotal: 12 MB", null)]
    [InlineData("MemFree:  1024 kB", null)]
    public void MemTotal_is_read_in_kibibytes(string line, long? bytes) =>
        Assert.Equal(bytes, NodeCapacity.ParseMemTotal(["SwapTotal: 1 kB", line])?.Bytes);

    [Fact]
    public void This_machine_offers_every_processor_and_its_memory_less_a_reserve()
    {
        var total = NodeCapacity.ParseMemTotal(File.ReadLines("/proc/meminfo"))!.Value;

        var memory = NodeCapacity.Memory();

        Assert.Equal(Environment.ProcessorCount * 1000L, NodeCapacity.Cpu().Millicores);
        Assert.Equal(total.Bytes - NodeCapacity.SystemReserve(total).Bytes, memory!.Value.Bytes);
        Assert.InRange(memory.Value.Bytes, total.Bytes / 2, total.Bytes - (256L << 20));
    }

    [Fact]
    public void The_reserve_is_a_tenth_but_at_least_256Mi_and_never_more_than_all()
    {
        Assert.Equal(256L << 20, NodeCapacity.SystemReserve(new ByteSize(1L << 30)).Bytes);
        Assert.Equal(1L << 30, NodeCapacity.SystemReserve(new ByteSize(10L << 30)).Bytes);
        Assert.Equal(100L << 20, NodeCapacity.SystemReserve(new ByteSize(100L << 20)).Bytes);
    }

    [Fact]
    public void An_unreadable_meminfo_leaves_memory_unlimited() =>
        Assert.Null(NodeCapacity.Memory("/nonexistent/meminfo"));
}
