using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Serialization;

/// <summary>The rollout messages and the revision history on the wire, in the journal and in snapshots.</summary>
public sealed class RolloutSerializationTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
    private static readonly ServiceName Web = ServiceName.Parse("web");

    public RolloutSerializationTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    /// <summary>History is a service rolled out, updated, failed and rolled back automatically.</summary>
    private static DesiredState History() => DesiredState.Empty.ApplyAll([
        new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0),
        new RolloutEvents.ServiceRolloutComplete(Web, 1, T0),
        new ServiceEvents.ServiceApplied(Specs.Service(image: "busybox:1.37", extra: "env: { MODE: debug }"), 2, T0.AddMinutes(1)),
        new RolloutEvents.ServiceRolloutFailed(Web, 2, "new replicas failed 3 times", T0.AddMinutes(2)),
        new RolloutEvents.ServiceRolledBack(Specs.Service(), 3, 2, 1, "automatic: the rollout of generation 2 failed", T0.AddMinutes(2)),
    ]);

    /// <summary>Samples are the rollout messages for FleetSerializerTests' every-manifest round trip.</summary>
    internal static IEnumerable<object> Samples()
    {
        var state = History();
        yield return new RolloutEvents.ServiceRolloutComplete(Web, 1, T0);
        yield return new RolloutEvents.ServiceRolloutFailed(Web, 2, "replica web-7k2xq failed: manifest unknown", T0);
        yield return new RolloutEvents.ServiceRolledBack(Specs.Full(), 3, 2, 1, "fleetctl rollout undo", T0);
        yield return new RolloutProtocol.Undo(Web, null, T0);
        yield return new RolloutProtocol.Undo(Web, 4, T0);
        yield return new RolloutProtocol.GetRollout(Web);
        yield return new RolloutProtocol.RolloutResponse(Web,
            new RolloutProtocol.RolloutProgress(3, 4, RolloutOutcome.Failed, 3, 1, 0, 3, 2, "no progress for 2m"), ServiceRevisions.Of(state, Web));
        yield return new RolloutProtocol.RolloutResponse(ServiceName.Parse("nope"), null, []);
        yield return new ControllerProtocol.EventsResponse(state.History);
        yield return new ControllerProtocol.EventsResponse([
            new RolloutEvents.ServiceRolloutComplete(Web, 1, T0),
            new RolloutEvents.ServiceRolloutFailed(Web, 2, "no progress", T0),
            new RolloutEvents.ServiceRolledBack(Specs.Service(), 3, 2, 1, "fleetctl rollout undo", T0),
        ]);
        yield return state;
    }

    [Fact]
    public void The_revision_history_and_rollout_events_survive_a_snapshot()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var state = History();

        var back = (DesiredState)serializer.FromBinary(serializer.ToBinary(state), serializer.Manifest(state));

        var revisions = ServiceRevisions.Of(back, Web);
        Assert.Equal(new long[] { 1, 2, 3 }, revisions.Select(r => r.Generation));
        Assert.Equal(new[] { RolloutOutcome.Complete, RolloutOutcome.Failed, RolloutOutcome.Progressing }, revisions.Select(r => r.Outcome));
        Assert.Equal("new replicas failed 3 times", revisions[1].Reason);
        Assert.Equal(1L, revisions[2].RolledBackTo);
        Assert.StartsWith("image docker.io/library/busybox:1.36 → docker.io/library/busybox:1.37; env +MODE", revisions[1].Change, StringComparison.Ordinal);
        Assert.True(ServiceSpecEquality.Equivalent(state.Revisions["web"][1].Spec, revisions[1].Spec));
        // After recovery from the snapshot, replicas of generation 1 still count as running the current spec.
        Assert.Equal(3L, ServiceRevisions.EffectiveGeneration(back, Web, 1));
        // A completed rollout shows in the revision's outcome, not among the events.
        Assert.Equal(new[] { "applied", "applied", "rollout-failed", "rolled-back" }, back.History.Select(ClusterEvents.Kind));
    }

    [Fact]
    public void A_snapshot_written_before_the_revision_history_seeds_it_from_the_service()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var json = Encoding.UTF8.GetString(serializer.ToBinary(History()));
        var start = json.IndexOf(",\"revisions\":", StringComparison.Ordinal);
        Assert.True(start > 0, json);
        var old = json[..start] + "}";

        var back = (DesiredState)serializer.FromBinary(Encoding.UTF8.GetBytes(old), "desired.snapshot");

        var seeded = Assert.Single(ServiceRevisions.Of(back, Web));
        Assert.Equal((3L, RolloutOutcome.Complete), (seeded.Generation, seeded.Outcome));
    }

    [Fact]
    public void The_progress_deadline_and_failure_threshold_survive_the_journal_and_default_when_absent()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var spec = Specs.Service() with
        {
            Update = new UpdatePolicy { AutoRollback = true, ProgressDeadline = TimeSpan.FromSeconds(45), FailureThreshold = 5 },
        };

        var bytes = serializer.ToBinary(new ServiceEvents.ServiceApplied(spec, 1, T0));
        var back = (ServiceEvents.ServiceApplied)serializer.FromBinary(bytes, "svc.applied");
        var json = Encoding.UTF8.GetString(bytes);
        var older = json.Replace(",\"progressDeadlineMs\":45000,\"failureThreshold\":5", "", StringComparison.Ordinal);
        var fromOlder = (ServiceEvents.ServiceApplied)serializer.FromBinary(Encoding.UTF8.GetBytes(older), "svc.applied");

        Assert.Equal(spec.Update, back.Spec.Update);
        Assert.NotEqual(json, older);
        Assert.Equal(new UpdatePolicy { AutoRollback = true }, fromOlder.Spec.Update);
    }
}
