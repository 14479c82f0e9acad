#!/bin/bash
# bench/scale/run.sh — scale a busybox-httpd service 0 → N (100) replicas on one fleetd, and
# beside it the same N containers started by a shell loop of `runc run -d` (what a user would
# script by hand). One command, as root:
#   bench/scale/run.sh              # build (Release), bench, write bench/scale/RESULTS.md and
#                                   # the #5 rows of bench/RESULTS.md
# Knobs: N (100), TIMEOUT (seconds to wait for N healthy, 300), SETTLE (seconds before an RSS
#        reading, 10), IDLE (seconds of idling before the steady idle RSS reading, 300), NO_RESULTS=1 (print only), NO_BUILD=1 (use the existing Release build),
#        FLEETD (another fleetd binary, for before/after runs), TRACE=0 (no start trace).
# fleetd runs with FLEET_START_TRACE (src/Fleet.Node/Replicas/StartTrace.cs): start-trace.py
# turns it into the table of where the scale-up spent its time.
#
# Measured: time from `fleetctl scale` to N healthy (fleet_replicas_healthy on /metrics, polled
# every 50 ms with busybox wget, so the poller costs no .NET start-up); per-replica start
# latency = the replica's startedAt minus the moment the scale command was sent (p50, p99);
# fleetd RSS idle (no service): SETTLE s after start, and steady, after IDLE s of idling (the
# figure held against the target: a young process has not yet grown to where its GC settles);
# its CPU over those idle seconds (user + system, as a share of one core); and RSS with N
# healthy replicas.
# The runc peer: N bundles over one shared read-only busybox rootfs with a tmpfs /www, the same
# command (write the page naming the hostname, exec httpd), started one after another with
# `runc run -d`; it has a network namespace with loopback only and no health checks, while each
# Fleet replica also gets a veth on the node's bridge, an address, /etc files and HTTP probes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${N:-100}
TIMEOUT=${TIMEOUT:-300}
SETTLE=${SETTLE:-10}
IDLE=${IDLE:-300}

if [ "${FLEET_SCALE_REAPED:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
  "$repo/scripts/deps" runc
  if [ "${NO_BUILD:-}" != 1 ]; then
    dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
    dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
  fi
  # The reaper (from the native tests) is the subreaper of everything started here: shims that
  # exit are reaped, and whatever is left behind is reported (PID 1 here does not reap orphans).
  reaper="$repo/artifacts/native/Release/tests/reaper"
  if [ -x "$reaper" ]; then
    FLEET_SCALE_REAPED=1 exec "$reaper" "$0" "$@"
  fi
fi

fleetd="${FLEETD:-$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd}"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
work=$(mktemp -d /tmp/fleet-scale-bench.XXXXXX)
prefix="fs$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bridge="${prefix}br"
subnet="10.$((100 + RANDOM % 128)).0.0/16"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port); http=$(free_port); cluster=$(free_port)
export FLEET_SERVER=127.0.0.1:$api
fleetd_pid=""

ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # user + system, in clock ticks
metric() { { timeout 5 busybox wget -q -O - "http://127.0.0.1:$http/metrics" 2>/dev/null || true; } | awk -v m="$1{service=\"bench\"}" '$1 == m {print $2}'; }

cleanup() {
  set +e
  if [ -n "$fleetd_pid" ] && [ -d "/proc/$fleetd_pid" ]; then
    "$fleetctl" delete service bench >/dev/null 2>&1
    for _ in $(seq 1 600); do
      [ "$("$fleetctl" get replicas -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 0 ] && break
      sleep 0.2
    done
    kill -TERM "$fleetd_pid"
    for _ in $(seq 1 300); do [ -d "/proc/$fleetd_pid" ] || break; sleep 0.1; done
  fi
  for d in "$work"/runc-state/*/; do [ -d "$d" ] && runc --root "$work/runc-state" delete -f "$(basename "$d")" >/dev/null 2>&1; done
  if [ -d "$work/data/runtime" ]; then
    "$repo/artifacts/native/Release/fleetrt" --root "$work/data/runtime" list --format json 2>/dev/null \
      | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]' 2>/dev/null \
      | while read -r id; do echo "left behind by fleetd: container $id" >&2; "$repo/artifacts/native/Release/fleetrt" --root "$work/data/runtime" delete -f "$id"; done
  fi
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  iptables-save -t nat 2>/dev/null | grep -- "fleet:$bridge" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t nat $rule"; done
  iptables-save -t filter 2>/dev/null | grep -- "fleet:$bridge" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t filter $rule"; done
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
  true
}
trap cleanup EXIT

net_flags=()
help=$("$fleetd" --help)
[[ "$help" == *--bridge* ]] && net_flags+=(--bridge "$bridge")
[[ "$help" == *--subnet* ]] && net_flags+=(--subnet "$subnet")

if [ "${TRACE:-1}" != 0 ]; then export FLEET_START_TRACE="$work/start-trace.txt"; fi
echo "== fleetd on 127.0.0.1:$api (data $work/data${net_flags:+, bridge $bridge $subnet})"
"$fleetd" --data-dir "$work/data" --api-port "$api" --http-port "$http" --cluster-port "$cluster" \
  --log-format json "${net_flags[@]}" >"$work/fleetd.log" 2>&1 </dev/null &
fleetd_pid=$!
for i in $(seq 1 600); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$http/healthz" 2>/dev/null && break
  [ -d "/proc/$fleetd_pid" ] || { tail -20 "$work/fleetd.log"; echo "fleetd exited" >&2; exit 1; }
  [ "$i" -lt 600 ] || { tail -20 "$work/fleetd.log"; echo "fleetd not ready in 60 s" >&2; exit 1; }
  sleep 0.1
done
sleep "$SETTLE"
start_rss=$(rss_kb "$fleetd_pid")
echo "fleetd RSS ${SETTLE} s after start: $((start_rss / 1024)) MB; idling ${IDLE} s more"
# The highest reading over the idle minutes, every 10 s, so a reading between two GCs does not flatter.
idle_rss=$start_rss
idle_ticks_before=$(cpu_ticks "$fleetd_pid")
for _ in $(seq 1 $((IDLE / 10))); do
  sleep 10
  now_rss=$(rss_kb "$fleetd_pid")
  [ "$now_rss" -gt "$idle_rss" ] && idle_rss=$now_rss
done
idle_cpu=$(awk -v t="$(( $(cpu_ticks "$fleetd_pid") - idle_ticks_before ))" -v hz="$(getconf CLK_TCK)" -v s="$IDLE" 'BEGIN {printf "%.1f", 100 * t / hz / s}')
echo "fleetd idle RSS (highest over ${IDLE} s): $((idle_rss / 1024)) MB; idle CPU ${idle_cpu} % of a core"

echo "== image and service (0 replicas)"
mkdir -p "$work/context"
cp "$repo/examples/hello-web/Fleetfile" /bin/busybox "$work/context/"
"$fleetctl" build -t bench-httpd "$work/context" >/dev/null
cat >"$work/bench.yaml" <<YAML
kind: Service
name: bench
image: bench-httpd
replicas: 0
resources: { cpu: 10m, memory: 16Mi }
health:
  http: { path: /, port: 8080 }
  interval: 500ms
  timeout: 500ms
  retries: 3
YAML
"$fleetctl" apply -f "$work/bench.yaml"

echo "== scale bench 0 -> $N"
t0=$(ms)
"$fleetctl" scale bench --replicas "$N" >/dev/null
t_scaled=$(ms)
healthy=0
while :; do
  healthy=$(metric fleet_replicas_healthy)
  [ "${healthy:-0}" = "$N" ] && break
  if [ $(( $(ms) - t0 )) -gt $((TIMEOUT * 1000)) ]; then
    echo "only ${healthy:-0}/$N healthy after ${TIMEOUT}s" >&2
    "$fleetctl" get replicas -o wide | tail -20 >&2
    tail -20 "$work/fleetd.log" >&2
    exit 1
  fi
  sleep 0.05
done
t1=$(ms)
all_healthy_ms=$((t1 - t0))
echo "$N healthy after $all_healthy_ms ms (the scale command itself returned after $((t_scaled - t0)) ms)"
"$fleetctl" get replicas -o json >"$work/replicas.json"
trace_table=""
if [ -s "$work/start-trace.txt" ]; then
  trace_table=$(python3 "$here/start-trace.py" "$work/start-trace.txt" || true)
  echo "$trace_table"
fi
read -r p50 p99 <<<"$(python3 - "$work/replicas.json" "$t0" <<'PY'
import json, sys, datetime
replicas, t0 = json.load(open(sys.argv[1])), int(sys.argv[2])
lat = sorted(datetime.datetime.fromisoformat(r["startedAt"].replace("Z", "+00:00")).timestamp() * 1000 - t0 for r in replicas)
pick = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))]
print(f"{pick(0.50):.0f} {pick(0.99):.0f}")
PY
)"
echo "replica start latency (startedAt - scale sent): p50 $p50 ms, p99 $p99 ms"
sleep "$SETTLE"
loaded_rss=$(rss_kb "$fleetd_pid")
echo "fleetd RSS with $N healthy replicas: $((loaded_rss / 1024)) MB"

echo "== scale bench $N -> 0"
t2=$(ms)
"$fleetctl" scale bench --replicas 0 >/dev/null
while [ "$("$fleetctl" get replicas -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" != 0 ]; do
  [ $(( $(ms) - t2 )) -lt $((TIMEOUT * 1000)) ] || { echo "replicas left after ${TIMEOUT}s" >&2; exit 1; }
  sleep 0.2
done
scale_down_ms=$(( $(ms) - t2 ))
echo "0 replicas after $scale_down_ms ms"

echo "== peer: $N x runc run -d in a shell loop"
rootfs="$work/runc-rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,www}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"; done
(cd "$work" && mkdir -p template && cd template && runc spec)
for i in $(seq 1 "$N"); do
  mkdir -p "$work/runc/$i"
  python3 - "$work/template/config.json" "$work/runc/$i/config.json" "$rootfs" "${prefix}-$i" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[3], "readonly": True}
c["hostname"] = sys.argv[4]
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", 'echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www']
c["mounts"].append({"destination": "/www", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]})
json.dump(c, open(sys.argv[2], "w"))
PY
done
t3=$(ms)
for i in $(seq 1 "$N"); do
  runc --root "$work/runc-state" run -d -b "$work/runc/$i" "${prefix}-$i" </dev/null >/dev/null 2>&1
done
t4=$(ms)
runc_ms=$((t4 - t3))
runc_running=$(runc --root "$work/runc-state" list -q | wc -l)
echo "runc: $runc_running/$N started in $runc_ms ms"
for i in $(seq 1 "$N"); do runc --root "$work/runc-state" delete -f "${prefix}-$i" >/dev/null 2>&1 || true; done

target_ok() { [ "$1" -le "$2" ] && echo "✓" || echo "✗"; }
idle_mb=$((idle_rss / 1024))
start_mb=$((start_rss / 1024))
loaded_mb=$((loaded_rss / 1024))
summary="| scale 0 → $N, time until all healthy | $all_healthy_ms ms | runc run -d loop (started, no health) $runc_ms ms | $(awk -v a="$all_healthy_ms" -v b="$runc_ms" 'BEGIN {printf "%.2f", a / b}') | ≤ 3 s $(target_ok "$all_healthy_ms" 3000) |
| replica start latency p50 / p99 (startedAt − scale sent) | $p50 / $p99 ms | | | |
| fleetd RSS ${SETTLE} s after start | $start_mb MB | | | |
| fleetd RSS idle, highest over ${IDLE} s | $idle_mb MB | k3s agent ≈ 275 MB, dockerd+containerd ≈ 120 MB | | ≤ 100 MB $(target_ok "$idle_mb" 100) |
| fleetd CPU idle, over the same ${IDLE} s | ${idle_cpu} % of a core | | | |
| fleetd RSS with $N healthy replicas | $loaded_mb MB | | | |
| scale $N → 0, until none listed | $scale_down_ms ms | | | |"
echo
echo "$summary"

if [ "${NO_RESULTS:-}" != 1 ]; then
  when="$(date -u +%Y-%m-%dT%H:%MZ)"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  # Hand-written notes (experiments, analysis) below the marker survive a re-run.
  notes=$(sed -n '/^<!-- notes:begin -->/,$p' "$here/RESULTS.md" 2>/dev/null || true)
  cat >"$here/RESULTS.md" <<MD
# Scale benchmark results

Produced by \`bench/scale/run.sh\` (N=$N, SETTLE=${SETTLE}s, IDLE=${IDLE}s) on $when, $(nproc) cores, kernel
$(uname -r), cgroups $( [ -e /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo "v1 (hybrid)"),
load average at the end: $load. One fleetd (--driver container, its own bridge), a busybox
httpd service built from examples/hello-web's Fleetfile, HTTP health check every 500 ms.

| measurement | Fleet | peer | ratio | target |
|---|---|---|---|---|
$summary

The peer starts the same N containers (same busybox httpd command, one bundle each over a shared
read-only rootfs, tmpfs /www) with \`runc run -d\` in a shell loop: no network beyond loopback,
no health checks, no waiting for httpd to answer — the floor a hand-written script gets.
Fleet's figure includes the scale command, the controller's plan, per replica an overlay
snapshot mount, a veth on the bridge with an address, /etc files, the shim, and HTTP probes
until every replica has passed one. runc $(runc --version | head -1 | awk '{print $3}').

## Where the scale-up spends its time

From fleetd's start trace (FLEET_START_TRACE; ms after the first start request reached the
node's driver, so without fleetctl's own start-up and the controller's plan):

${trace_table:-(no trace: TRACE=0)}
MD
  if [ -n "$notes" ]; then printf '\n%s\n' "$notes" >>"$here/RESULTS.md"; fi
  python3 - "$repo/bench/RESULTS.md" "$when" "$load" "$summary" <<'PY'
import sys, re
path, when, load, summary = sys.argv[1:]
text = open(path).read()
section = f"""<!-- scale:begin -->
## Run (#5): scaling one service — `bench/scale/run.sh` ([details](scale/RESULTS.md))

{when}, load average {load} at the end of the run.

| measurement | Fleet | peer | ratio | target |
|---|---|---|---|---|
{summary}
<!-- scale:end -->"""
if "<!-- scale:begin -->" in text:
    text = re.sub(r"<!-- scale:begin -->.*?<!-- scale:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  echo "wrote $here/RESULTS.md and the #5 rows of bench/RESULTS.md"
fi
