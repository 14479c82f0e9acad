using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests;

public sealed class SpecGenerationTests
{
    public static TheoryData<string, Func<ServiceSpec, ServiceSpec>, bool> Changes => new()
    {
        { "same spec rebuilt", s => Service("web", replicas: 2, cpu: "500m", published: [8080], health: true), false },
        { "replicas only", s => s with { Replicas = 9 }, false },
        { "image", s => s with { Image = Fleet.Core.Ids.ImageReference.Parse("nginx:1.28") }, true },
        { "env", s => s with { Env = new Dictionary<string, string> { ["A"] = "1" } }, true },
        { "command", s => s with { Command = ["sh", "-c", "true"] }, true },
        { "cpu", s => s with { Resources = new ResourceRequest { Cpu = new CpuQuantity(250) } }, true },
        { "constraint", s => s with { Placement = new Placement { Constraints = [Constraint("zone == a")] } }, true },
        { "stateful", s => s with { Stateful = true }, true },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Only_changes_beyond_the_replica_count_start_a_new_generation(string change, Func<ServiceSpec, ServiceSpec> edit, bool expected)
    {
        var current = Service("web", replicas: 2, cpu: "500m", published: [8080], health: true);

        Assert.True(expected == SpecGeneration.IsNewGeneration(current, edit(current)), change);
    }
}
