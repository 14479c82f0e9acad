using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

/// <summary>`update:` with autoRollback, progressDeadline and failureThreshold: values, defaults and errors with their place.</summary>
public sealed class UpdatePolicyTests
{
    private const string Head = "kind: Service\nname: web\nimage: busybox\n";

    [Fact]
    public void Update_reads_auto_rollback_progress_deadline_and_failure_threshold()
    {
        var spec = LoadService(Head + "update: { maxSurge: 2, autoRollback: true, progressDeadline: 90s, failureThreshold: 5 }\n");

        Assert.Equal(new UpdatePolicy { MaxSurge = 2, AutoRollback = true, ProgressDeadline = TimeSpan.FromSeconds(90), FailureThreshold = 5 }, spec.Update);
    }

    [Fact]
    public void Without_them_a_rollout_fails_after_2m_without_progress_or_3_failures_and_is_not_rolled_back()
    {
        var omitted = LoadService(Head).Update;
        var partial = LoadService(Head + "update: { autoRollback: true }\n").Update;

        Assert.Equal((false, TimeSpan.FromMinutes(2), 3), (omitted.AutoRollback, omitted.ProgressDeadline, omitted.FailureThreshold));
        Assert.Equal((true, TimeSpan.FromMinutes(2), 3), (partial.AutoRollback, partial.ProgressDeadline, partial.FailureThreshold));
    }

    [Theory]
    [InlineData("update: { progressDeadline: 2 }\n", 4, 29, "update.progressDeadline: invalid duration `2`")]
    [InlineData("update: { progressDeadline: 0s }\n", 4, 29, "update.progressDeadline: must be longer than 0")]
    [InlineData("update: { failureThreshold: 0 }\n", 4, 29, "update.failureThreshold: must be 1 or more, got 0")]
    [InlineData("update: { failureThreshold: many }\n", 4, 29, "update.failureThreshold: expected a whole number, got `many`")]
    [InlineData("update: { autoRollback: yes please }\n", 4, 25, "update.autoRollback: expected true or false")]
    [InlineData("update: { autoRollbak: true }\n", 4, 11, "did you mean `autoRollback`?")]
    public void A_wrong_update_field_is_reported_at_its_place(string yaml, int line, int column, string message) =>
        SingleError(Head + yaml, line, column, message);
}
