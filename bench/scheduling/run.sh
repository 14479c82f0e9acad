#!/usr/bin/env bash
# Scheduler benchmark: times the pure Fleet.Scheduling functions on 1,000 simulated nodes.
#   bench/scheduling/run.sh [--nodes 1000] [--replicas 3000,10000] [--runs 7]
# There is no peer here: Nomad's and Swarm's schedulers cannot be run as a pure function over
# the same input, so their published figures are quoted in RESULTS.md instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec dotnet run -c Release --project "$root/bench/scheduling/Fleet.Scheduling.Bench" -- "$@"
