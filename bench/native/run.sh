#!/bin/sh
# bench/native/run.sh — fleetrt vs runc on the same busybox bundle, in the same run, plus a
# density run of fleetrt containers. One command, as root:
#   bench/native/run.sh                 # build (Release) into /tmp, bench, update RESULTS.md
# Knobs: RUNS (40), WARMUP (5), DENSITY_N (1000), PARALLEL (8), FLEETRT_BUILD (build dir),
#        NO_RESULTS=1 (print only).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-40}
WARMUP=${WARMUP:-5}
DENSITY_N=${DENSITY_N:-1000}
PARALLEL=${PARALLEL:-8}
build=${FLEETRT_BUILD:-/tmp/fleetrt-bench-build}

if [ "${FLEETRT_BENCH_REAPED:-}" != 1 ]; then
  "$repo/scripts/deps" hyperfine runc
  cmake -S "$repo/src/native" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel >/dev/null
  # The reaper is the subreaper of everything started here (PID 1 on these machines does not
  # reap orphans) and reports any process left behind.
  FLEETRT_BENCH_REAPED=1 exec "$build/tests/reaper" "$0" "$@"
fi

fleetrt="$build/fleetrt"
work=$(mktemp -d /tmp/fleetrt-bench.XXXXXX)
prefix="bench$$"
bridge="flb$$"
cleanup() {
  set +e
  ip link del "$bridge" 2>/dev/null
  for d in "$work"/state/*/; do [ -d "$d" ] && "$fleetrt" --root "$work/state" delete -f "$(basename "$d")" >/dev/null 2>&1; done
  for d in "$work"/runc/*/; do [ -d "$d" ] && runc --root "$work/runc" delete -f "$(basename "$d")" >/dev/null 2>&1; done
  rm -rf "$work"
  # fleetrt's default cgroup parent: removed once empty (rmdir refuses while anything uses it).
  rmdir /sys/fs/cgroup/*/fleetrt /sys/fs/cgroup/fleetrt 2>/dev/null
  true
}
trap cleanup EXIT

"$repo/tests/native/make-bundle.sh" "$work/bundle" /bin/true >/dev/null
cmd_runc="runc --root $work/runc run -b $work/bundle ${prefix}r"
cmd_fleet="$fleetrt --root $work/state run -b $work/bundle ${prefix}f"
# the same bundle plus a veth on a bridge (org.fleet.net.*): what networking adds
mkdir -p "$work/netbundle"
/usr/bin/python3 - "$work/bundle/config.json" "$work/netbundle/config.json" "$work/bundle/rootfs" "$bridge" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["path"] = sys.argv[3]
c["annotations"] = {"org.fleet.net.bridge": sys.argv[4], "org.fleet.net.address": "10.232.0.2/24"}
json.dump(c, open(sys.argv[2], "w"))
PY
cmd_net="$fleetrt --root $work/state run -b $work/netbundle ${prefix}n"
echo "== run /bin/true, busybox bundle (runc spec defaults), $RUNS runs after $WARMUP warm-up"
hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$work/hf.json" -n runc "$cmd_runc" -n fleetrt "$cmd_fleet" \
  -n fleetrt-net "$cmd_net" >/dev/null
ip link del "$bridge" 2>/dev/null || true
medians=$(/usr/bin/python3 - "$work/hf.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
f, c = r["fleetrt"]["median"] * 1000, r["runc"]["median"] * 1000
n = r["fleetrt-net"]["median"] * 1000
print(f"{f:.1f} {c:.1f} {f / c:.2f} {r['fleetrt']['mean']*1000:.1f} {r['runc']['mean']*1000:.1f} {n:.1f}")
PY
)
set -- $medians
printf '%-10s median %7.1f ms  (mean %.1f)\n' fleetrt "$1" "$4" runc "$2" "$5"
printf 'ratio fleetrt/runc: %s (target <= 0.25)\n' "$3"
printf 'fleetrt with a veth on a bridge: median %s ms\n' "$6"
fleet_med=$1 runc_med=$2 ratio=$3 net_med=$6

echo "== density: $DENSITY_N containers running sleep, started and stopped $PARALLEL at a time"
"$repo/tests/native/make-bundle.sh" "$work/dens" sleep 3600 >/dev/null
mounts_before=$(wc -l < /proc/self/mountinfo)
t0=$(date +%s%N)
seq 1 "$DENSITY_N" | xargs -P "$PARALLEL" -I{} sh -c \
  '"$0" --root "$1" run -d -b "$2" "$3-{}" </dev/null >/dev/null 2>&1 || echo "start {} failed"' \
  "$fleetrt" "$work/state" "$work/dens" "$prefix" > "$work/start-failures"
t1=$(date +%s%N)
running=$("$fleetrt" --root "$work/state" list --format json | /usr/bin/python3 -c \
  'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["status"] == "running"))')
shim_mem=$(for d in "$work"/state/*/; do
  p=$(sed -n 's/.*"parent_pid":\([0-9]*\).*/\1/p' "$d/state.json")
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$p/smaps_rollup"
done | awk '{r += $1; p += $2; n++} END {printf "%d %d", r / n, p / n}')
t2=$(date +%s%N)
seq 1 "$DENSITY_N" | xargs -P "$PARALLEL" -I{} sh -c \
  '"$0" --root "$1" delete -f "$2-{}" >/dev/null 2>&1 || echo "delete {} failed"' \
  "$fleetrt" "$work/state" "$prefix" > "$work/stop-failures"
t3=$(date +%s%N)
sleep 1
left_state=$(ls -A "$work/state" | wc -l)
left_cg=$(ls -d /sys/fs/cgroup/*/fleetrt/"$prefix"-* 2>/dev/null | wc -l)
left_proc=$(pgrep -fc -- "$work/state" || true)
left_mounts=$(( $(wc -l < /proc/self/mountinfo) - mounts_before ))
start_ms=$(( (t1 - t0) / 1000000 ))
stop_ms=$(( (t3 - t2) / 1000000 ))
set -- $shim_mem
echo "started $running/$DENSITY_N running in $start_ms ms ($(( start_ms * 1000 / DENSITY_N )) us each)"
echo "shim memory: mean RSS $1 kB, mean PSS $2 kB (target <= 1 MB RSS)"
echo "stopped all in $stop_ms ms"
echo "left behind: $left_state state dirs, $left_cg cgroups, $left_mounts mounts, $left_proc shims"
echo "start failures: $(wc -l < "$work/start-failures"), stop failures: $(wc -l < "$work/stop-failures")"
rss=$1 pss=$2

if [ "${NO_RESULTS:-}" != 1 ]; then
  cat > "$here/RESULTS.md" <<MD
# fleetrt benchmark results

Produced by \`bench/native/run.sh\` (defaults: RUNS=$RUNS WARMUP=$WARMUP DENSITY_N=$DENSITY_N
PARALLEL=$PARALLEL) on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, kernel $(uname -r),
cgroups $( [ -e /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo "v1 (hybrid)"), load
average at the start: $(cut -d' ' -f1-3 /proc/loadavg).

## run /bin/true (busybox bundle from \`runc spec\`, same bundle, same hyperfine run)

Command: \`hyperfine -N -w $WARMUP -r $RUNS '$cmd_runc' '$cmd_fleet'\`

| runtime | median |
|---|---|
| runc $(runc --version | head -1 | awk '{print $3}') | $runc_med ms |
| fleetrt | $fleet_med ms |
| ratio | **$ratio** (target ≤ 0.25) |
| fleetrt + veth on a bridge (netlink) | $net_med ms |

The third row runs the same bundle with \`org.fleet.net.bridge/address\` annotations:
\`$cmd_net\`.

## density: $DENSITY_N containers running \`sleep\`, $PARALLEL started/stopped at a time

| metric | value |
|---|---|
| running after start | $running / $DENSITY_N |
| time to start all | $start_ms ms |
| shim RSS (mean) | $rss kB |
| shim PSS (mean) | $pss kB |
| time to stop all (delete -f) | $stop_ms ms |
| left behind | $left_state state dirs, $left_cg cgroups, $left_mounts mounts, $left_proc shims |
MD
  echo "wrote $here/RESULTS.md"
fi
