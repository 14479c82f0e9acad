// Many of these tests run whole clusters (several ActorSystems with remoting, failure detection
// and the split brain resolver) in this one process. Run side by side on 2 loaded cores they
// starve each other's heartbeats past the failure detector's 3 s pause, so a healthy node is
// seen unreachable and downed: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
