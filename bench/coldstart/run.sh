#!/bin/bash
# bench/coldstart/run.sh — cold start from zero through the routing mesh, image cached: the
# first-byte latency of a connection to a service at 0 replicas (the mesh holds it, the
# controller wakes the service, a replica starts on this node, the connection goes through),
# beside the same request to a warm replica and, as the peer, `runc run -d` + first byte on a
# bundle of the same image and command. One command, as root:
#   bench/coldstart/run.sh          # build (Release), bench, print the table and the breakdown
# Knobs: N (20 wakes), NO_BUILD=1 (use the existing Release build), NO_RESULTS=1 (print only:
#        otherwise the table is written to bench/coldstart/RESULTS.md).
#
# Each wake: `fleetctl scale cold --replicas 0`, wait until no replica is listed and the mesh
# has dropped the route's backend, then one HTTP GET on a new connection to the published port:
# first byte = connect() → first byte of the answer, as a client sees it. Scaling to zero by
# hand instead of waiting idleAfter keeps the run short; the wake path is the same.
# fleetd runs with FLEET_START_TRACE, so each wake is also broken down by start step (ms after
# the client's connect()).
# The peer: one OCI bundle (busybox rootfs, the same httpd command) in the host's network
# namespace (no veth, no address, no health check, no mesh), `runc run -d`, then a GET every
# 2 ms until one is answered — the floor for "start a container and get a byte out of it".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${N:-20}

if [ "${FLEET_COLDSTART_REAPED:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
  "$repo/scripts/deps" runc
  if [ "${NO_BUILD:-}" != 1 ]; then
    dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
    dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
  fi
  # The reaper (from the native tests) reaps the shims that exit (PID 1 here does not).
  reaper="$repo/artifacts/native/Release/tests/reaper"
  if [ -x "$reaper" ]; then
    FLEET_COLDSTART_REAPED=1 exec "$reaper" "$0" "$@"
  fi
fi

fleetd="${FLEETD:-$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd}"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
work=$(mktemp -d /tmp/fleet-coldstart-bench.XXXXXX)
prefix="fc$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bridge="${prefix}br"
subnet="10.$((100 + RANDOM % 128)).0.0/16"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port); http=$(free_port); cluster=$(free_port); published=$(free_port); peer_port=$(free_port)
export FLEET_SERVER=127.0.0.1:$api
fleetd_pid=""

cleanup() {
  set +e
  for d in "$work"/runc-state/*/; do [ -d "$d" ] && runc --root "$work/runc-state" delete -f "$(basename "$d")" >/dev/null 2>&1; done
  if [ -n "$fleetd_pid" ] && [ -d "/proc/$fleetd_pid" ]; then
    "$fleetctl" delete service cold >/dev/null 2>&1
    for _ in $(seq 1 300); do
      [ "$("$fleetctl" get replicas -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 0 ] && break
      sleep 0.2
    done
    kill -TERM "$fleetd_pid"
    for _ in $(seq 1 300); do [ -d "/proc/$fleetd_pid" ] || break; sleep 0.1; done
  fi
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

export FLEET_START_TRACE="$work/start-trace.txt"
echo "== fleetd on 127.0.0.1:$api (data $work/data, bridge $bridge $subnet)"
"$fleetd" --data-dir "$work/data" --api-port "$api" --http-port "$http" --cluster-port "$cluster" \
  --log-format json --bridge "$bridge" --subnet "$subnet" >"$work/fleetd.log" 2>&1 </dev/null &
fleetd_pid=$!
for i in $(seq 1 600); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$http/healthz" 2>/dev/null && break
  [ -d "/proc/$fleetd_pid" ] || { tail -20 "$work/fleetd.log"; echo "fleetd exited" >&2; exit 1; }
  [ "$i" -lt 600 ] || { tail -20 "$work/fleetd.log"; echo "fleetd not ready in 60 s" >&2; exit 1; }
  sleep 0.1
done

echo "== image and service (autoscale min 0, published port $published)"
mkdir -p "$work/context"
cp "$repo/examples/hello-web/Fleetfile" /bin/busybox "$work/context/"
"$fleetctl" build -t cold-httpd "$work/context" >/dev/null
cat >"$work/cold.yaml" <<YAML
kind: Service
name: cold
image: cold-httpd
replicas: 1
resources: { cpu: 10m, memory: 16Mi }
ports:
  - { container: 8080, published: $published }
health:
  http: { path: /, port: 8080 }
  interval: 1s
  timeout: 1s
  retries: 3
autoscale: { min: 0, max: 1, idleAfter: 10m, wakeTimeout: 30s }
YAML
"$fleetctl" apply -f "$work/cold.yaml"
# One replica first: the image is unpacked (snapshots) before the first measured wake.
for _ in $(seq 1 600); do
  busybox wget -q -O /dev/null "http://127.0.0.1:$published/" 2>/dev/null && break
  sleep 0.1
done

echo "== $N wakes from zero, then $N requests to the warm replica"
python3 "$here/coldstart.py" fleet "$fleetctl" 127.0.0.1 "$published" cold "$N" "$FLEET_START_TRACE" >"$work/fleet.json"

echo "== peer: runc run -d + first byte, $N times on one bundle"
rootfs="$work/runc-rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,www}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"; done
mkdir -p "$work/bundle" && (cd "$work/bundle" && runc spec)
python3 - "$work/bundle/config.json" "$rootfs" "$peer_port" <<'PY'
import json, sys
path, rootfs, port = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["hostname"] = "peer"
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", f'echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /www']
c["mounts"].append({"destination": "/www", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]})
# The host's network namespace: the client reaches httpd on 127.0.0.1 with no network set-up.
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(path, "w"))
PY
python3 "$here/coldstart.py" runc "$work/bundle" "$work/runc-state" "$peer_port" "$N" >"$work/runc.json"

echo "== idle path: idleAfter 2s, wait for zero, one connection, the events"
sed -i 's/idleAfter: 10m/idleAfter: 2s/' "$work/cold.yaml"
"$fleetctl" apply -f "$work/cold.yaml" >/dev/null
for _ in $(seq 1 300); do
  [ "$("$fleetctl" get replicas --service cold -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] && break
  sleep 0.1
done
busybox wget -q -O - "http://127.0.0.1:$published/" >"$work/idle-answer.txt" || echo "(no answer)" >"$work/idle-answer.txt"
events=$("$fleetctl" events | tail -3)
echo "$events"

table=$(python3 - "$work/fleet.json" "$work/runc.json" <<'PY'
import json, sys
f, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
fmt = lambda v: "—" if v is None else f"{v:.0f}"
ok = "✓" if f["cold_p50"] is not None and f["cold_p50"] <= 150 else "✗"
ratio = f"{f['cold_p50'] / r['p50']:.1f}" if f["cold_p50"] and r["p50"] else "—"
print("| measurement | p50 | p99 | n | target |")
print("|---|---|---|---|---|")
print(f"| Fleet: first byte, cold from zero through the mesh | {fmt(f['cold_p50'])} ms | {fmt(f['cold_p99'])} ms | {len(f['cold'])}/{f['n']} | p50 ≤ 150 ms {ok} |")
print(f"| Fleet: first byte, warm replica through the mesh | {fmt(f['warm_p50'])} ms | {fmt(f['warm_p99'])} ms | {len(f['warm'])}/{f['n']} | |")
print(f"| peer: `runc run -d` + first byte (same bundle, host network) | {fmt(r['p50'])} ms | {fmt(r['p99'])} ms | {len(r['times'])}/{r['n']} | cold ÷ peer = {ratio} |")
if f["errors"] or r["errors"]:
    print()
    print("errors: " + "; ".join(f["errors"] + r["errors"]))
steps = f["steps"]
if steps:
    print()
    print("Where a wake spends its time (median over the wakes, ms after the client's connect()):")
    print()
    print("| step | ms |")
    print("|---|---|")
    for step in ["requested", "launching", "image", "network-ready", "address", "bundle", "record", "creating", "created", "started", "running", "probe-ok", "healthy"]:
        if step in steps:
            print(f"| {step} | {steps[step]:.0f} |")
    print(f"| first byte at the client | {fmt(f['cold_p50'])} |")
PY
)
echo
echo "$table"
if [ "${NO_RESULTS:-}" != 1 ]; then
  # Hand-written notes (analysis) below the marker survive a re-run.
  notes=$(sed -n '/^<!-- notes:begin -->/,$p' "$here/RESULTS.md" 2>/dev/null || true)
  cat >"$here/RESULTS.md" <<MD
# Cold-start benchmark results

Produced by \`bench/coldstart/run.sh\` (N=$N) on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, kernel
$(uname -r), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). One fleetd (--driver container,
its own bridge), a busybox httpd service (examples/hello-web's Fleetfile) with an HTTP health check
and \`autoscale: { min: 0 }\`, image cached; runc $(runc --version | head -1 | awk '{print $3}').

$table

The idle path at the end of the run (idleAfter 2s, then one connection; answered: $(cat "$work/idle-answer.txt")):

\`\`\`
$events
\`\`\`

$notes
MD
fi
