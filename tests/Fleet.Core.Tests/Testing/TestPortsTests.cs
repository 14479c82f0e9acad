namespace Fleet.Core.Tests.Testing;

/// <summary>
/// The free-port helper every test project compiles in: a cluster test takes nine ports in a
/// row, and the kernel hands a just-closed port out again often (≈ 6 % of 2,000 binds here).
/// </summary>
public sealed class TestPortsTests
{
    [Fact]
    public void Ports_handed_out_in_a_row_are_all_different_and_never_the_demo_ports()
    {
        var ports = Enumerable.Range(0, 2000).Select(_ => TestPorts.Free()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.DoesNotContain(ports, port => port is 4050 or 4051 or 4053);
    }
}
