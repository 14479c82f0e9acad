#!/bin/bash
# bench/failover/run.sh — fail-over time of a dead worker on a 3-node cluster on one machine.
# Three fleetd processes from one generated cluster.yaml (node N on 127.0.0.N with free ports,
# its own data dir, bridge and subnet; every node control-plane + worker, as the shipped
# cluster.yaml). A 6-replica busybox-httpd service with an HTTP health check every 500 ms runs
# 2/2/2. Each run kills node3 like a machine losing power — kill -9 of its fleetd, then of every
# process in its replicas' cgroups and its shims — and measures the time until the service has
# 6 healthy replicas on node1 and node2 (polled through node1 every 100 ms). node3 is then
# restarted, the service scaled to 0 and back to 6 so the next run starts from 2/2/2 again.
# One command, as root:
#   bench/failover/run.sh           # build (Release), RUNS runs, write bench/failover/RESULTS.md
#                                   # and the fail-over row of bench/RESULTS.md
# Knobs: RUNS (5), NO_RESULTS=1 (print only), NO_BUILD=1 (use the existing Release build),
#        (Docker Swarm is not measured: see README.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-5}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
if [ "${NO_BUILD:-}" != 1 ]; then
  dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
  dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
fi
fleetd="$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
fleetrt="$repo/artifacts/native/Release/fleetrt"
work=$(mktemp -d /tmp/fleet-failover-bench.XXXXXX)
prefix="ff$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
declare -A api http cluster pid
for n in 1 2 3; do api[$n]=$(free_port); http[$n]=$(free_port); cluster[$n]=$(free_port); pid[$n]=""; done
published=$(free_port)
ctl() { "$fleetctl" "${@:2}" --server "127.0.0.$1:${api[$1]}"; }

net_flags() {
  local help; help=$("$fleetd" --help)
  [[ "$help" == *--bridge* ]] && echo "--bridge ${prefix}b$1"
  [[ "$help" == *--subnet* ]] && echo "--subnet 10.$((100 + RANDOM % 100)).$1.0/24"
  true
}
declare -A flags
for n in 1 2 3; do flags[$n]=$(net_flags "$n"); done

{
  echo "kind: Cluster"
  echo "name: failover-bench"
  echo "persistence:"
  echo "  provider: sqlite"
  echo "nodes:"
  for n in 1 2 3; do
    echo "  - name: node$n"
    echo "    address: 127.0.0.$n"
    echo "    ports: { api: ${api[$n]}, http: ${http[$n]}, cluster: ${cluster[$n]} }"
    echo "    roles: [control-plane, worker]"
    echo "    dataDir: $work/node$n"
  done
} >"$work/cluster.yaml"

start_node() {
  local n=$1
  # shellcheck disable=SC2086
  "$fleetd" --config "$work/cluster.yaml" --node "node$n" --log-format json ${flags[$n]} >>"$work/node$n.log" 2>&1 </dev/null &
  pid[$n]=$!
}
wait_ready() {
  local n=$1
  for _ in $(seq 1 1200); do
    timeout 5 busybox wget -q -O /dev/null "http://127.0.0.$n:${http[$n]}/healthz" 2>/dev/null && return 0
    [ -d "/proc/${pid[$n]}" ] || { tail -20 "$work/node$n.log"; echo "node$n exited" >&2; exit 1; }
    sleep 0.1
  done
  tail -20 "$work/node$n.log"; echo "node$n not ready in 120 s" >&2; exit 1
}
# node_procs N: pids of processes started for node N (shims and containers): command line or root inside its data dir.
node_procs() {
  local root="$work/node$1" p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$root" || [[ "$(readlink "$p/root" 2>/dev/null)" == "$root"* ]]; then
      echo "${p#/proc/}"
    fi
  done
}
replicas_json() { ctl 1 get replicas --service web -o json 2>/dev/null || echo '[]'; }
# count_healthy [EXCEPT_NODE]: healthy web replicas (not on EXCEPT_NODE)
count_healthy() { replicas_json | python3 -c 'import json,sys; x=sys.argv[1] if len(sys.argv)>1 else ""; print(sum(1 for r in json.load(sys.stdin) if r.get("state")=="healthy" and r.get("node")!=x))' "$@"; }
per_node() { replicas_json | python3 -c 'import json,sys,collections; c=collections.Counter(r["node"] for r in json.load(sys.stdin)); print(" ".join(f"{k}={v}" for k,v in sorted(c.items())))'; }
agent_reports() { grep -c "agent of node node3 reported" "$work/node1.log" || true; }

cleanup() {
  set +e
  if [ -n "${pid[1]}" ] && [ -d "/proc/${pid[1]}" ]; then
    ctl 1 delete service web >/dev/null 2>&1
    for _ in $(seq 1 600); do [ "$(replicas_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] && break; sleep 0.2; done
  fi
  for n in 3 2 1; do
    if [ -n "${pid[$n]}" ] && [ -d "/proc/${pid[$n]}" ]; then
      kill -TERM "${pid[$n]}"
      for _ in $(seq 1 300); do [ -d "/proc/${pid[$n]}" ] || break; sleep 0.1; done
    fi
  done
  for n in 1 2 3; do
    for p in $(node_procs "$n"); do kill -KILL "$p" 2>/dev/null; done
    if [ -d "$work/node$n/runtime" ] && [ -x "$fleetrt" ]; then
      "$fleetrt" --root "$work/node$n/runtime" list --format json 2>/dev/null \
        | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]' 2>/dev/null \
        | while read -r id; do "$fleetrt" --root "$work/node$n/runtime" delete -f "$id" >/dev/null 2>&1; done
    fi
  done
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  for n in 1 2 3; do
    iptables-save -t nat 2>/dev/null | grep -- "fleet:${prefix}b$n" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t nat $rule"; done
    iptables-save -t filter 2>/dev/null | grep -- "fleet:${prefix}b$n" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t filter $rule"; done
    ip link del "${prefix}b$n" 2>/dev/null
  done
  find /sys/fs/cgroup -depth -type d -name "*${prefix}*" -exec rmdir {} \; 2>/dev/null
  # A node whose replicas were swept above (its fleetd killed, or its declared state lost) left
  # its cgroup parent: /fleet/nodeN-<first 8 hex of sha256(data dir)>, then /fleet when empty.
  for n in 1 2 3; do
    parent="node$n-$(printf %s "$work/node$n" | sha256sum | cut -c1-8)"
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do rmdir "$h/fleet/$parent" "$h/fleet" 2>/dev/null; done
  done
  rm -rf "$work"
  true
}
trap cleanup EXIT

echo "== 3 fleetd on 127.0.0.1-3 (work $work)"
for n in 1 2 3; do start_node "$n"; done
for n in 1 2 3; do wait_ready "$n"; done
for _ in $(seq 1 600); do [ "$(ctl 1 get nodes -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 3 ] && break; sleep 0.2; done

echo "== image and service (6 replicas, health every 500 ms)"
mkdir -p "$work/context"
cp "$repo/examples/hello-web/Fleetfile" /bin/busybox "$work/context/"
image="127.0.0.1:${http[1]}/failover-httpd:bench"
ctl 1 build -t "$image" "$work/context" >/dev/null
ctl 1 push "$image" >/dev/null
cat >"$work/web.yaml" <<YAML
kind: Service
name: web
image: $image
replicas: 6
resources: { cpu: 10m, memory: 16Mi }
ports:
  - { container: 8080, published: $published }
health:
  http: { path: /, port: 8080 }
  interval: 500ms
  timeout: 500ms
  retries: 3
YAML
ctl 1 apply -f "$work/web.yaml" >/dev/null

results=()
for run in $(seq 1 "$RUNS"); do
  for _ in $(seq 1 1200); do [ "$(count_healthy)" = 6 ] && break; sleep 0.1; done
  spread=$(per_node)
  [ "$(count_healthy)" = 6 ] || { echo "run $run: service not healthy: $spread" >&2; exit 1; }
  # A run that does not start from 2/2/2 measures nothing (killing node3 then moves no replica)
  # and would only pull the median down: it means the restart before it went wrong — e.g. the
  # split brain resolver downed a healthy node — so say so and stop.
  [ "$spread" = "node1=2 node2=2 node3=2" ] || { echo "run $run: does not start from 2/2/2 ($spread): the cluster did not recover from the previous run" >&2; tail -30 "$work/node1.log"; exit 1; }
  before_reports=$(agent_reports)
  t0=$(ms)
  kill -KILL "${pid[3]}"
  for p in $(node_procs 3); do kill -KILL "$p" 2>/dev/null || true; done
  until [ "$(count_healthy node3)" = 6 ]; do
    [ $(( $(ms) - t0 )) -lt 120000 ] || { echo "run $run: not failed over in 120 s: $(per_node)" >&2; tail -30 "$work/node1.log"; exit 1; }
    sleep 0.1
  done
  t=$(( $(ms) - t0 ))
  results+=("$t")
  echo "run $run: 2 replicas on node3 (spread $spread) → 6 healthy on node1+node2 after $t ms"
  # Bring node3 back, and start the next run from 2/2/2.
  { wait "${pid[3]}"; } 2>/dev/null || true
  start_node 3; wait_ready 3
  for _ in $(seq 1 600); do [ "$(agent_reports)" -gt "$before_reports" ] && break; sleep 0.2; done
  ctl 1 scale web --replicas 0 >/dev/null
  for _ in $(seq 1 600); do [ "$(replicas_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] && break; sleep 0.2; done
  ctl 1 scale web --replicas 6 >/dev/null
done

sorted=$(printf '%s\n' "${results[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
raw=$(printf '%s ' "${results[@]}")
load=$(cut -d' ' -f1-3 /proc/loadavg)
when=$(date -u +%Y-%m-%dT%H:%MZ)
verdict=$([ "$median" -le 6000 ] && echo "✓" || echo "✗")
echo "== median of $RUNS: $median ms (raw: $raw), target ≤ 6000 ms $verdict; load $load"

swarm="≈ 15 s published, not measured here (see README)"
if [ "${NO_RESULTS:-}" != 1 ]; then
  cat >"$here/RESULTS.md" <<MD
# Fail-over — \`bench/failover/run.sh\`

$when, load average $load at the end of the run. 3 fleetd on 127.0.0.1-3 (one machine, 2 vCPUs),
6-replica busybox-httpd service (health every 500 ms), kill -9 of node3's fleetd and all its
container processes, time until 6 healthy replicas run on node1 and node2.

| measurement | Fleet | Docker Swarm | target |
|---|---|---|---|
| dead worker → its replicas healthy elsewhere (median of $RUNS) | **$median ms** | $swarm | ≤ 6 s $verdict |

Raw runs (ms): $raw

Where the time goes: the failure detector marks node3 unreachable once its heartbeats (every
1 s) have been missing for the 3 s acceptable pause plus phi's margin; the controller then
replaces its stateless replicas at once (stateful ones wait for the split brain resolver to
down the node, 5 s of stable membership later); the rest is starting the container and two
passing health probes 500 ms apart.

Between runs node3's fleetd is started again at once and rejoins as a new incarnation; a run
only counts when it starts from 2/2/2. Until members wrote only over connections they opened
themselves (\`use-passive-connections = off\`, see FleetAkkaHosting.Connections), that quick
restart raced Akka.Remote's reconnect and most bench runs stopped there, with healthy nodes
marked unreachable and downed; 25 restarts in five runs since (2026-12-03), none did.
MD
  python3 - "$repo/bench/RESULTS.md" "$when" "$median" "$RUNS" "$verdict" "$swarm" <<'PY'
import sys, re
path, when, median, runs, verdict, swarm = sys.argv[1:]
text = open(path).read()
block = f"""<!-- failover:begin -->
## Cluster (#6): fail-over — `bench/failover/run.sh` ([details](failover/RESULTS.md))

| measurement | Fleet | peer | target |
|---|---|---|---|
| kill -9 of a worker (fleetd + containers) → its replicas healthy elsewhere, median of {runs} ({when}) | **{int(median)/1000:.1f} s** | Docker Swarm: {swarm} | ≤ 6 s {verdict} |
<!-- failover:end -->"""
if "<!-- failover:begin -->" in text:
    text = re.sub(r"<!-- failover:begin -->.*?<!-- failover:end -->", block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
fi
