// One real fleetd with real containers at a time: the machine is small and shared, and two
// nodes' published ports and cgroups must not race each other's timing assertions.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
