#!/bin/bash
# bench/mesh/run.sh — requests/s through the Fleet routing mesh vs straight to one replica vs
# Debian's haproxy (mode tcp, roundrobin) in front of the same replicas, in the same run. One
# command, as root:
#   bench/mesh/run.sh            # build (Release), bench, write bench/mesh/RESULTS.md and the mesh
#                                # row of bench/RESULTS.md
# Knobs: ROUNDS (5), SMALL_N (2000 requests of the 20-byte page), SMALL_C (16 concurrent),
#        BIG_N (300 requests of a 1 MiB file), BIG_C (4), NO_RESULTS=1 (print only),
#        NO_BUILD=1 (use the existing Release build).
#
# Setup: one fleetd (container driver, its own bridge and subnet) runs a 3-replica busybox httpd
# service (examples/hello-web plus a 1 MiB file) published on a free port; haproxy gets the same
# three replica addresses. The load generator is apache2-utils' `ab` (one new TCP connection per
# request: busybox httpd does not keep connections alive, so every request is an accept, a
# backend connect and a copy through each proxy). Each round runs the three targets back to back,
# in turn, for both workloads; the medians over the rounds are reported. Load is bounded:
# ROUNDS x 3 x (SMALL_N + BIG_N) requests in all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
SMALL_N=${SMALL_N:-2000}
SMALL_C=${SMALL_C:-16}
BIG_N=${BIG_N:-300}
BIG_C=${BIG_C:-4}

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
for tool in ab haproxy busybox python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/deps (apache2-utils, haproxy, busybox-static)" >&2; exit 1; }
done
if [ "${NO_BUILD:-}" != 1 ]; then
  dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
  dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
fi

fleetd="$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
work=$(mktemp -d /tmp/fleet-mesh-bench.XXXXXX)
prefix="fm$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bridge="${prefix}br"
subnet="10.$((100 + RANDOM % 128)).$((RANDOM % 256)).0/24"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port); http=$(free_port); cluster=$(free_port); published=$(free_port); haproxy_port=$(free_port)
export FLEET_SERVER=127.0.0.1:$api
fleetd_pid=""
haproxy_pid=""

cleanup() {
  set +e
  [ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null && wait "$haproxy_pid" 2>/dev/null
  if [ -n "$fleetd_pid" ] && [ -d "/proc/$fleetd_pid" ]; then
    "$fleetctl" delete service bench >/dev/null 2>&1
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
  for table in nat filter; do
    iptables-save -t "$table" 2>/dev/null | grep -- "fleet:$bridge" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -w -t $table $rule"; done
  done
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
  true
}
trap cleanup EXIT

echo "== fleetd on 127.0.0.1:$api (bridge $bridge $subnet)"
"$fleetd" --data-dir "$work/data" --api-port "$api" --http-port "$http" --cluster-port "$cluster" \
  --bridge "$bridge" --subnet "$subnet" --log-format json >"$work/fleetd.log" 2>&1 </dev/null &
fleetd_pid=$!
for i in $(seq 1 900); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$http/healthz" 2>/dev/null && break
  [ -d "/proc/$fleetd_pid" ] || { tail -20 "$work/fleetd.log"; echo "fleetd exited" >&2; exit 1; }
  [ "$i" -lt 900 ] || { tail -20 "$work/fleetd.log"; echo "fleetd not ready in 90 s" >&2; exit 1; }
  sleep 0.1
done

echo "== image and a 3-replica service published on $published"
mkdir -p "$work/context"
cp /bin/busybox "$work/context/"
sed 's|exec httpd|head -c 1048576 /dev/zero > /www/big \&\& exec httpd|' "$repo/examples/hello-web/Fleetfile" >"$work/context/Fleetfile"
grep -q '/www/big' "$work/context/Fleetfile" || { echo "could not add the 1 MiB file to the hello-web Fleetfile" >&2; exit 1; }
"$fleetctl" build -t bench-web "$work/context" >/dev/null
cat >"$work/bench.yaml" <<YAML
kind: Service
name: bench
image: bench-web
replicas: 3
resources: { cpu: 500m, memory: 64Mi }
ports:
  - { container: 8080, published: $published }
health:
  http: { path: /, port: 8080 }
  interval: 1s
  timeout: 1s
  retries: 3
YAML
"$fleetctl" apply -f "$work/bench.yaml" >/dev/null
for i in $(seq 1 600); do
  ips=$("$fleetctl" get replicas -o json | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin) if r.get("state") == "healthy" and r.get("ip")]
print(" ".join(sorted(r["ip"] for r in rs)) if len(rs) == 3 else "")')
  [ -n "$ips" ] && break
  [ "$i" -lt 600 ] || { "$fleetctl" get replicas >&2; echo "3 replicas not healthy in 120 s" >&2; exit 1; }
  sleep 0.2
done
read -r -a replicas <<<"$ips"
echo "replicas: ${replicas[*]}"
for i in $(seq 1 100); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$published/" 2>/dev/null && break
  [ "$i" -lt 100 ] || { echo "the mesh does not answer on $published" >&2; exit 1; }
  sleep 0.2
done

echo "== haproxy on $haproxy_port"
{
  echo "global"
  echo "  maxconn 4096"
  echo "defaults"
  echo "  mode tcp"
  echo "  timeout connect 3s"
  echo "  timeout client 30s"
  echo "  timeout server 30s"
  echo "listen bench"
  echo "  bind 127.0.0.1:$haproxy_port"
  echo "  balance roundrobin"
  n=0; for ip in "${replicas[@]}"; do n=$((n + 1)); echo "  server r$n $ip:8080"; done
} >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
for i in $(seq 1 50); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$haproxy_port/" 2>/dev/null && break
  [ "$i" -lt 50 ] || { cat "$work/haproxy.log" >&2; echo "haproxy does not answer" >&2; exit 1; }
  sleep 0.2
done

# run_ab TARGET PATH N C -> "requests/s failed" (-r: a reset connection is counted, not fatal)
run_ab() {
  local out rps failed
  out=$(ab -q -r -n "$3" -c "$4" -s 30 "http://$1$2" 2>&1) || { echo "$out" >&2; return 1; }
  rps=$(awk '/^Requests per second:/ {print $4}' <<<"$out")
  failed=$(awk '/^Failed requests:/ {print $3}' <<<"$out")
  echo "$rps ${failed:-?}"
}

declare -A results
declare -A failures
targets=(direct haproxy mesh)
declare -A address=([direct]="${replicas[0]}:8080" [haproxy]="127.0.0.1:$haproxy_port" [mesh]="127.0.0.1:$published")
echo "== warm-up"
for t in "${targets[@]}"; do run_ab "${address[$t]}" / 300 4 >/dev/null; done
load_before=$(cut -d' ' -f1 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for t in "${targets[@]}"; do
    read -r small small_failed <<<"$(run_ab "${address[$t]}" / "$SMALL_N" "$SMALL_C")"
    read -r big big_failed <<<"$(run_ab "${address[$t]}" /big "$BIG_N" "$BIG_C")"
    results[$t.small]+="$small "
    results[$t.big]+="$big "
    failures[$t]=$(( ${failures[$t]:-0} + small_failed + big_failed ))
    echo "round $round  $t: small page $small req/s, 1 MiB file $big req/s ($small_failed + $big_failed failed)"
  done
done
load_after=$(cut -d' ' -f1 /proc/loadavg)
fleetd_cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$fleetd_pid/stat")

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for k in "${!results[@]}"; do declare "med_${k/./_}=$(median "${results[$k]}")"; done
small_ratio=$(ratio "$med_mesh_small" "$med_haproxy_small")
big_ratio=$(ratio "$med_mesh_big" "$med_haproxy_big")
mark() { awk -v r="$1" 'BEGIN {print (r >= 0.7) ? "✓" : "✗"}'; }
mib() { awk -v r="$1" 'BEGIN {printf "%.0f", r}'; }
date=$(date -u +%Y-%m-%dT%H:%MZ)

table="| workload | mesh | direct (one replica) | haproxy (tcp, roundrobin) | mesh / haproxy | target |
|---|---|---|---|---|---|
| 20-byte page, $SMALL_N requests, $SMALL_C concurrent, new connection each | $med_mesh_small req/s | $med_direct_small req/s | $med_haproxy_small req/s | **$small_ratio** | ≥ 0.7 $(mark "$small_ratio") |
| 1 MiB file, $BIG_N requests, $BIG_C concurrent | $med_mesh_big req/s ($(mib "$med_mesh_big") MiB/s) | $med_direct_big req/s | $med_haproxy_big req/s | **$big_ratio** | ≥ 0.7 $(mark "$big_ratio") |"
raw="failed requests over all rounds: direct ${failures[direct]}, haproxy ${failures[haproxy]}, mesh ${failures[mesh]}
direct small: ${results[direct.small]}
haproxy small: ${results[haproxy.small]}
mesh small: ${results[mesh.small]}
direct big: ${results[direct.big]}
haproxy big: ${results[haproxy.big]}
mesh big: ${results[mesh.big]}"
echo
echo "$table"
echo
echo "$raw"
echo "load average before/after: $load_before / $load_after; fleetd CPU over the whole run: ${fleetd_cpu}s"

if [ "${NO_RESULTS:-}" != 1 ]; then
  python3 - "$here/RESULTS.md" "$repo/bench/RESULTS.md" "$date" "$table" "$raw" "$load_before" "$load_after" "$ROUNDS" \
    "$med_mesh_small" "$med_haproxy_small" "$small_ratio" "$med_direct_small" "$big_ratio" <<'PY'
import sys, re
(results, index, date, table, raw, lb, la, rounds,
 mesh_small, haproxy_small, small_ratio, direct_small, big_ratio) = sys.argv[1:]
section = f"""## {date} — `bench/mesh/run.sh`

Medians of {rounds} rounds; load average {lb} before, {la} after.

{table}

Raw requests/s per round:

```
{raw}
```
"""
try:
    text = open(results).read()
except FileNotFoundError:
    text = ""
marker = "<!-- runs -->"
if marker not in text:
    text = "# Mesh benchmark results\n\nNewest run first; how to read them is in [README.md](README.md).\n\n" + marker + "\n"
text = text.replace(marker, marker + "\n\n" + section, 1)
open(results, "w").write(text)

row = (f"| requests/s through the mesh, 3 busybox-httpd replicas, new connection per request | "
       f"{mesh_small} | haproxy (tcp) {haproxy_small}; straight to one replica {direct_small} | "
       f"**{small_ratio}** (1 MiB file: {big_ratio}) | ≥ 0.7 × haproxy {'✓' if float(small_ratio) >= 0.7 else '✗'} |")
idx = open(index).read()
head = "## Mesh — `bench/mesh/run.sh` ([details](mesh/RESULTS.md))"
block = f"""{head}

| measurement | Fleet | peer | ratio | target |
|---|---|---|---|---|
{row}
"""
if head in idx:
    # Up to the next section or the next bench's marker (another bench rewrites between its markers).
    idx = re.sub(re.escape(head) + r".*?(?=\n## |\n<!-- |\Z)", block.rstrip("\n") + "\n", idx, count=1, flags=re.S)
else:
    idx = idx.rstrip("\n") + "\n\n" + block
open(index, "w").write(idx)
PY
  echo "wrote $here/RESULTS.md and the mesh row of bench/RESULTS.md"
fi
