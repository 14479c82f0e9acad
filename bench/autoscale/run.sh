#!/bin/bash
# bench/autoscale/run.sh — autoscaler reaction: load step → first extra replica healthy.
# One fleetd (127.0.0.1, free ports, its own data dir, bridge and subnet) with the autoscaler's
# defaults (evaluate every 5 s over a 5 s window of 1 s samples). The service is
# examples/autoscale (busybox httpd whose /cgi-bin/burn spends ≈ 0.1 s of cpu per request):
# cpu: 100m requested, `autoscale: { min: 1, max: 5, cpu: 50% }`. Each run starts from 1 healthy,
# idle replica, starts 4 request loops through the routing mesh (the load step) and measures
# the time until a second replica is healthy (polled every 100 ms). The loops are then stopped,
# the metric window is let pass, and the service is scaled back to 1 by hand.
# The reference figure is the Kubernetes HPA's default sync period (15 s: it evaluates that
# often, before any pod starts); there is no Kubernetes on this machine, so it is not measured.
# One command, as root:
#   bench/autoscale/run.sh          # build (Release), RUNS runs, write bench/autoscale/RESULTS.md
# Knobs: RUNS (5), NO_RESULTS=1 (print only), NO_BUILD=1 (use the existing Release build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-5}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "/bin/busybox is missing: apt-get install -y busybox-static (scripts/deps)" >&2; exit 1; }
if [ "${NO_BUILD:-}" != 1 ]; then
  dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
  dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
fi
fleetd="$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
fleetrt="$repo/artifacts/native/Release/fleetrt"
work=$(mktemp -d /tmp/fleet-autoscale-bench.XXXXXX)
prefix="fa$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
api=$(free_port); http=$(free_port); cport=$(free_port); published=$(free_port)
ctl() { "$fleetctl" "$@" --server "127.0.0.1:$api"; }
fleetd_pid=""
loaders=()

cat >"$work/cluster.yaml" <<YAML
kind: Cluster
name: autoscale-bench
nodes:
  - name: node1
    address: 127.0.0.1
    ports: { api: $api, http: $http, cluster: $cport }
    roles: [control-plane, worker]
    dataDir: $work/node1
    network: { bridge: ${prefix}b1, subnet: 10.$((100 + RANDOM % 100)).$((RANDOM % 250)).0/24 }
YAML

replicas_json() { ctl get replicas --service burner -o json 2>/dev/null || echo '[]'; }
count_healthy() { replicas_json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r.get("state")=="healthy"))'; }
count_all() { replicas_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
stop_load() {
  local p
  for p in "${loaders[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${loaders[@]}"; do wait "$p" 2>/dev/null || true; done
  loaders=()
}
start_load() {
  local i
  for i in 1 2 3 4; do
    ( while :; do timeout 20 busybox wget -q -O /dev/null "http://127.0.0.1:$published/cgi-bin/burn" 2>/dev/null || sleep 0.1; done ) &
    loaders+=($!)
  done
}

cleanup() {
  set +e
  stop_load
  if [ -n "$fleetd_pid" ] && [ -d "/proc/$fleetd_pid" ]; then
    ctl delete service burner >/dev/null 2>&1
    for _ in $(seq 1 600); do [ "$(count_all)" = 0 ] && break; sleep 0.2; done
    kill -TERM "$fleetd_pid"
    for _ in $(seq 1 300); do [ -d "/proc/$fleetd_pid" ] || break; sleep 0.1; done
  fi
  if [ -d "$work/node1/runtime" ] && [ -x "$fleetrt" ]; then
    "$fleetrt" --root "$work/node1/runtime" list --format json 2>/dev/null \
      | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]' 2>/dev/null \
      | while read -r id; do "$fleetrt" --root "$work/node1/runtime" delete -f "$id" >/dev/null 2>&1; done
  fi
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  iptables-save -t nat 2>/dev/null | grep -- "fleet:${prefix}b1" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t nat $rule"; done
  iptables-save -t filter 2>/dev/null | grep -- "fleet:${prefix}b1" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t filter $rule"; done
  ip link del "${prefix}b1" 2>/dev/null
  find /sys/fs/cgroup -depth -type d -name "*${prefix}*" -exec rmdir {} \; 2>/dev/null
  rm -rf "$work"
  true
}
trap cleanup EXIT

echo "== fleetd on 127.0.0.1 (work $work)"
"$fleetd" --config "$work/cluster.yaml" --node node1 --log-format json >>"$work/node1.log" 2>&1 </dev/null &
fleetd_pid=$!
for _ in $(seq 1 1200); do
  timeout 5 busybox wget -q -O /dev/null "http://127.0.0.1:$http/healthz" 2>/dev/null && break
  [ -d "/proc/$fleetd_pid" ] || { tail -20 "$work/node1.log"; echo "fleetd exited" >&2; exit 1; }
  sleep 0.1
done

echo "== image (examples/autoscale) and service"
mkdir -p "$work/context"
cp "$repo/examples/autoscale/Fleetfile" "$repo/examples/autoscale/burn.cgi" /bin/busybox "$work/context/"
chmod 755 "$work/context/burn.cgi"
image="127.0.0.1:$http/cpu-burner:bench"
ctl build -t "$image" "$work/context" >/dev/null
ctl push "$image" >/dev/null
sed -e "s|^image: cpu-burner|image: $image|" -e "s|published: 8090|published: $published|" -e "s|scaleDownDelay: 1m|scaleDownDelay: 1h|" \
  "$repo/examples/autoscale/service.yaml" >"$work/burner.yaml"
ctl apply -f "$work/burner.yaml" >/dev/null

results=()
for run in $(seq 1 "$RUNS"); do
  # From 1 healthy, idle replica: scaled by hand, then the metric window (5 s) let pass.
  ctl scale burner --replicas 1 >/dev/null
  for _ in $(seq 1 1200); do [ "$(count_all)" = 1 ] && [ "$(count_healthy)" = 1 ] && break; sleep 0.1; done
  sleep 12
  start=$(ms)
  start_load
  healthy=1
  for _ in $(seq 1 1200); do
    healthy=$(count_healthy)
    [ "$healthy" -ge 2 ] && break
    sleep 0.1
  done
  took=$(( $(ms) - start ))
  decision=$(ctl events 2>/dev/null | grep autoscaled | tail -1 | sed 's/.*autoscaler: //')
  stop_load
  printf 'run %d: load step → 2nd replica healthy in %d.%03d s   (%s)\n' "$run" $((took / 1000)) $((took % 1000)) "$decision"
  results+=("$took")
  sleep 12   # the window forgets the load before the next run scales back to 1
done

median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}')
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nmedian of %d: %d.%03d s   target ≤ 10 s   reference: Kubernetes HPA sync period 15 s (default; evaluation only, not measured here: no Kubernetes on this machine)\n' \
  "$RUNS" $((median / 1000)) $((median % 1000))
echo "load average at the end: $load"

if [ "${NO_RESULTS:-}" != 1 ]; then
  {
    echo "# Autoscaler reaction — \`bench/autoscale/run.sh\`"
    echo
    echo "Load step → first extra replica healthy, one fleetd, autoscaler defaults (evaluation every"
    echo "5 s over a 5 s window of 1 s samples), examples/autoscale with 4 request loops through the"
    echo "mesh. $(date -u +%Y-%m-%dT%H:%MZ), load average at the end: $load."
    echo
    echo "| measurement | Fleet | reference | target |"
    echo "|---|---|---|---|"
    printf '| load step → 2nd replica healthy (median of %d) | %d.%03d s | Kubernetes HPA evaluates every 15 s (default sync period; not measured: no Kubernetes here) | ≤ 10 s |\n' \
      "$RUNS" $((median / 1000)) $((median % 1000))
    echo
    echo "Runs (ms): ${results[*]}"
  } >"$here/RESULTS.md"
  echo "wrote $here/RESULTS.md"
fi
