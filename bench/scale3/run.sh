#!/bin/bash
# bench/scale3/run.sh — `fleetctl scale web --replicas N` (100) on a 3-node Fleet cluster on this
# one machine (127.0.0.1/2/3): time from the command until all N replicas are healthy. Beside it,
# in the same run, the same with Docker Swarm: `docker service scale web=N` on Debian's docker.io
# engine, until N containers are healthy (and again without a health check, until N run). Both
# scale a busybox httpd service from 1 replica, the image already on every node.
# One command, as root:
#   bench/scale3/run.sh             # build (Release), bench, write bench/scale3/RESULTS.md and the
#                                   # #7 scale rows of bench/RESULTS.md
# Knobs: N (100), TIMEOUT (s to wait for N healthy, each peer, 300), NO_RESULTS=1 (print only),
#        NO_BUILD=1 (existing Release build), NO_SWARM=1 (Fleet only).
#
# Fleet: three fleetd from one generated cluster.yaml (node i on 127.0.0.i with free ports, its
# own data dir, bridge and subnet, all control-plane + worker). The image (examples/hello-web's
# Fleetfile over Debian's busybox-static) is built on node1 and pushed to node1's registry;
# `replicas: 3` puts it on every node, then 3 → 1, then the timed 1 → N. Healthy is
# fleet_replicas_healthy on node1's /metrics (the controller's count), polled every 50 ms with
# busybox wget.
# Swarm: a dockerd of its own (data root, exec root, socket, pid file in the work dir) with its own
# containerd, `docker swarm init` on 127.0.0.1 (free ports), the very same image copied from
# node1's registry with skopeo into a docker-archive and `docker load`ed (no Docker Hub), a service
# with the same command and an HTTP health check (wget http://127.0.0.1:8080/ inside the
# container), healthy containers counted with `docker ps` every 100 ms. One engine: a Swarm needs
# one engine per node, and two engines on one machine collide on their bridge and iptables chains.
# Cleanup: every process by PID, the swarm left, dockerd stopped by PID, its state dirs unmounted
# and removed, the bridges and iptables rules it created deleted; `ip -br link` and the iptables
# chains are compared before and after, and any difference is reported.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${N:-100}
TIMEOUT=${TIMEOUT:-300}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
"$repo/scripts/deps" docker.io skopeo curl
if [ "${NO_BUILD:-}" != 1 ]; then
  dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
  dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
fi
fleetd="$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
fleetrt="$repo/artifacts/native/Release/fleetrt"
docker_cli=/usr/bin/docker   # Debian's, matching its dockerd
work=$(mktemp -d /tmp/fleet-scale3-bench.XXXXXX)
prefix="f3$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# free_udp_port: a free UDP port below 49152 (Swarm refuses a data path port outside 1024-49151).
free_udp_port() { python3 -c '
import random, socket
while True:
    p = random.randint(20000, 49151)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
declare -A api http cluster pid
for n in 1 2 3; do api[$n]=$(free_port); http[$n]=$(free_port); cluster[$n]=$(free_port); pid[$n]=""; done
ctl() { "$fleetctl" "${@:2}" --server "127.0.0.$1:${api[$1]}"; }
metric() { { timeout 5 busybox wget -q -O - "http://127.0.0.1:${http[1]}/metrics" 2>/dev/null || true; } | awk -v m="$1{service=\"web\"}" '$1 == m {print $2}'; }
replicas_json() { ctl 1 get replicas --service web -o json 2>/dev/null || echo '[]'; }
per_node() { replicas_json | python3 -c 'import json,sys,collections; c=collections.Counter(r["node"] for r in json.load(sys.stdin)); print(" ".join(f"{k}={v}" for k,v in sorted(c.items())))'; }
links() { ip -br link | awk '{print $1}' | sed 's/@.*//' | sort; }
chains() { for t in filter nat mangle raw; do iptables-save -t "$t" 2>/dev/null | grep -E '^(:|-A)' | sed "s/^/$t /" | sed -E 's/\[[0-9]+:[0-9]+\]//'; done | sort; }
links >"$work/links.before"
chains >"$work/chains.before"
# dockerd also writes outside its data and exec roots: /etc/docker/key.json and /run/docker/plugins.
had_key=$([ -e /etc/docker/key.json ] && echo 1 || true)
had_run=$([ -e /run/docker ] && echo 1 || true)

dockerd_pid=""
dsock="$work/docker/docker.sock"
dk() { "$docker_cli" -H "unix://$dsock" "$@"; }

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

stop_fleet() {
  if [ -n "${pid[1]}" ] && [ -d "/proc/${pid[1]}" ]; then
    ctl 1 delete service web >/dev/null 2>&1
    for _ in $(seq 1 900); do [ "$(replicas_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] && break; sleep 0.2; done
  fi
  for n in 3 2 1; do
    if [ -n "${pid[$n]}" ] && [ -d "/proc/${pid[$n]}" ]; then
      kill -TERM "${pid[$n]}"
      for _ in $(seq 1 300); do [ -d "/proc/${pid[$n]}" ] || break; sleep 0.1; done
    fi
    pid[$n]=""
  done
  for n in 1 2 3; do
    for p in $(node_procs "$n"); do kill -KILL "$p" 2>/dev/null; done
    if [ -d "$work/node$n/runtime" ] && [ -x "$fleetrt" ]; then
      "$fleetrt" --root "$work/node$n/runtime" list --format json 2>/dev/null \
        | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]' 2>/dev/null \
        | while read -r id; do echo "left behind by fleetd on node$n: $id" >&2; "$fleetrt" --root "$work/node$n/runtime" delete -f "$id" >/dev/null 2>&1; done
    fi
  done
  grep -o " $work/node[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  for n in 1 2 3; do
    for t in nat filter; do
      iptables-save -t "$t" 2>/dev/null | grep -- "fleet:${prefix}b$n" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t $t $rule"; done
    done
    ip link del "${prefix}b$n" 2>/dev/null
  done
  find /sys/fs/cgroup -depth -type d -name "*${prefix}*" -exec rmdir {} \; 2>/dev/null
  true
}

stop_swarm() {
  if [ -n "$dockerd_pid" ] && [ -d "/proc/$dockerd_pid" ]; then
    dk service rm web >/dev/null 2>&1
    for _ in $(seq 1 600); do [ "$(dk ps -aq 2>/dev/null | wc -l)" = 0 ] && break; sleep 0.2; done
    dk swarm leave --force >/dev/null 2>&1
    kill -TERM "$dockerd_pid"
    for _ in $(seq 1 300); do [ -d "/proc/$dockerd_pid" ] || break; sleep 0.1; done
    [ -d "/proc/$dockerd_pid" ] && kill -KILL "$dockerd_pid"
  fi
  dockerd_pid=""
  # What dockerd left: its containerd and shims (by their command line naming our dirs), mounts, netns.
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$work/docker" && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  grep -o " $work/docker[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  # Bridges and iptables rules it created: only those not there before the run.
  comm -13 "$work/links.before" <(links) | grep -E '^(docker0|docker_gwbridge|veth|br-)' | while read -r l; do ip link del "$l" 2>/dev/null; done
  for t in filter nat mangle raw; do
    iptables-save -t "$t" 2>/dev/null | grep -E '^-A' | grep -E 'DOCKER|docker0|docker_gwbridge' | sed 's/^-A/-D/' | while read -r rule; do
      grep -qxF "$t ${rule/#-D/-A}" "$work/chains.before" || eval "iptables -t $t $rule" 2>/dev/null
    done
    iptables-save -t "$t" 2>/dev/null | sed -n 's/^:\(DOCKER[^ ]*\) .*/\1/p' | while read -r c; do
      grep -q "^$t :$c " "$work/chains.before" || { iptables -t "$t" -F "$c" 2>/dev/null; iptables -t "$t" -X "$c" 2>/dev/null; }
    done
  done
  [ -n "$had_key" ] || rm -f /etc/docker/key.json
  [ -n "$had_run" ] || rm -rf /run/docker
  true
}

cleanup() {
  set +e
  stop_fleet
  stop_swarm || true
  rm -rf "$work/docker" 2>/dev/null
  links >"$work/links.after"; chains >"$work/chains.after"
  # Other sessions on this machine add and remove their own interfaces meanwhile: only ours and Docker's count.
  left_links=$(comm -13 "$work/links.before" "$work/links.after" | grep -E "^(docker0|docker_gwbridge|br-|$prefix)" || true)
  left_rules=$(comm -13 "$work/chains.before" "$work/chains.after" | grep -E 'DOCKER|docker|fleet:'"$prefix" || true)
  [ -z "$left_links" ] || echo "left behind: interfaces $left_links" >&2
  [ -z "$left_rules" ] || echo "left behind: iptables $left_rules" >&2
  rm -rf "$work"
  true
}
trap cleanup EXIT

# ---------------------------------------------------------------- Fleet
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
  echo "name: scale3-bench"
  echo "persistence: { provider: sqlite }"
  echo "nodes:"
  for n in 1 2 3; do
    echo "  - name: node$n"
    echo "    address: 127.0.0.$n"
    echo "    ports: { api: ${api[$n]}, http: ${http[$n]}, cluster: ${cluster[$n]} }"
    echo "    roles: [control-plane, worker]"
    echo "    dataDir: $work/node$n"
  done
} >"$work/cluster.yaml"

echo "== Fleet: 3 fleetd on 127.0.0.1-3 (work $work)"
for n in 1 2 3; do
  # shellcheck disable=SC2086
  "$fleetd" --config "$work/cluster.yaml" --node "node$n" --log-format json ${flags[$n]} >>"$work/node$n.log" 2>&1 </dev/null &
  pid[$n]=$!
done
for n in 1 2 3; do
  for i in $(seq 1 1200); do
    timeout 5 busybox wget -q -O /dev/null "http://127.0.0.$n:${http[$n]}/healthz" 2>/dev/null && break
    [ -d "/proc/${pid[$n]}" ] || { tail -20 "$work/node$n.log"; echo "node$n exited" >&2; exit 1; }
    [ "$i" -lt 1200 ] || { tail -20 "$work/node$n.log"; echo "node$n not ready in 120 s" >&2; exit 1; }
    sleep 0.1
  done
done
for _ in $(seq 1 600); do [ "$(ctl 1 get nodes -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 3 ] && break; sleep 0.2; done

mkdir -p "$work/context"
cp "$repo/examples/hello-web/Fleetfile" /bin/busybox "$work/context/"
image="127.0.0.1:${http[1]}/scale3-httpd:bench"
ctl 1 build -t "$image" "$work/context" >/dev/null
ctl 1 push "$image" >/dev/null
# The same image for Docker, from node1's registry (loopback), tagged with a loopback registry
# nothing listens on, so a pull Swarm might still try goes nowhere.
swarm_image="127.0.0.1:1/scale3-httpd:bench"
skopeo copy -q --src-tls-verify=false "docker://$image" "docker-archive:$work/image.tar:$swarm_image" >/dev/null
cat >"$work/web.yaml" <<YAML
kind: Service
name: web
image: $image
replicas: 3
resources: { cpu: 10m, memory: 16Mi }
health:
  http: { path: /, port: 8080 }
  interval: 500ms
  timeout: 500ms
  retries: 3
YAML
ctl 1 apply -f "$work/web.yaml" >/dev/null
wait_healthy() { # wait_healthy COUNT TIMEOUT_S: fleet_replicas_healthy == COUNT and nothing else listed
  local t0; t0=$(ms)
  until [ "$(metric fleet_replicas_healthy)" = "$1" ] && [ "$(metric fleet_replicas_running)" = "$1" ]; do
    [ $(( $(ms) - t0 )) -lt $(( $2 * 1000 )) ] || { echo "web: not $1 healthy in $2 s: $(per_node)" >&2; tail -20 "$work/node1.log" >&2; exit 1; }
    sleep 0.1
  done
}
wait_healthy 3 180
echo "image on every node: $(per_node)"
ctl 1 scale web --replicas 1 >/dev/null
wait_healthy 1 120
for _ in $(seq 1 300); do [ "$(replicas_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] && break; sleep 0.2; done
sleep 2

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== Fleet: scale web 1 -> $N (load average $load_before)"
t0=$(ms)
ctl 1 scale web --replicas "$N" >/dev/null
t_cmd=$(ms)
until [ "$(metric fleet_replicas_healthy)" = "$N" ]; do
  [ $(( $(ms) - t0 )) -lt $((TIMEOUT * 1000)) ] || { echo "Fleet: only $(metric fleet_replicas_healthy)/$N healthy after ${TIMEOUT}s: $(per_node)" >&2; tail -20 "$work/node1.log" >&2; exit 1; }
  sleep 0.05
done
fleet_ms=$(( $(ms) - t0 ))
fleet_spread=$(per_node)
echo "Fleet: $N healthy after $fleet_ms ms (fleetctl scale returned after $((t_cmd - t0)) ms), spread $fleet_spread"
stop_fleet || true  # a function run in a || list does not stop at its first failing kill

# ---------------------------------------------------------------- Docker Swarm
# Two runs on one swarm: with a health check (the like of Fleet's, but Docker's is an exec in the
# container: 500 ms/500 ms as Fleet's never converges on 2 loaded cores — tasks are killed as
# unhealthy in a loop — so Swarm gets 1 s interval, 5 s timeout, a 60 s start period), until N
# containers are healthy; and without one, until N tasks run (Swarm's floor: started, not checked).
swarm_note=""; swarm_version=""
declare -A swarm_ms
swarm_count() { # swarm_count health|running
  if [ "$1" = health ]; then
    dk ps -q --filter label=com.docker.swarm.service.name=web --filter health=healthy 2>/dev/null | wc -l
  else
    dk ps -q --filter label=com.docker.swarm.service.name=web --filter status=running 2>/dev/null | wc -l
  fi
}
swarm_run() { # swarm_run health|running: create web with 1 replica, wait, time the scale to N
  local kind=$1 t0 t1 count
  local -a check=(--no-healthcheck)
  [ "$kind" = health ] && check=(--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1'
    --health-interval 1s --health-timeout 5s --health-retries 3 --health-start-period 60s)
  dk service create -d -q --name web --replicas 1 --no-resolve-image \
    --reserve-cpu 0.01 --reserve-memory 16M "${check[@]}" "$swarm_image" >/dev/null
  t1=$(ms)
  until [ "$(swarm_count "$kind")" = 1 ]; do
    if [ $(( $(ms) - t1 )) -gt 120000 ]; then
      echo "Swarm ($kind): the first replica not ready within 120 s: $(dk service ps web --no-trunc --format '{{.CurrentState}} {{.Error}}' | head -3 | tr '\n' ';')" >&2
      return 0
    fi
    sleep 0.2
  done
  echo "== Swarm ($kind): docker service scale web=$N"
  t0=$(ms)
  dk service scale -d "web=$N" >/dev/null
  while :; do
    count=$(swarm_count "$kind")
    [ "$count" = "$N" ] && break
    if [ $(( $(ms) - t0 )) -gt $((TIMEOUT * 1000)) ]; then
      echo "Swarm ($kind): $count/$N after ${TIMEOUT} s; tasks: $(dk service ps web --no-trunc --format '{{.CurrentState}} {{.Error}}' | sed 's/ [0-9a-z]* ago//; s/ about a minute ago//' | sort | uniq -c | sort -rn | head -3 | tr '\n' ';')" >&2
      swarm_ms[$kind]="> ${TIMEOUT} s ($count/$N)"
      break
    fi
    sleep 0.1
  done
  [ -n "${swarm_ms[$kind]:-}" ] || swarm_ms[$kind]="$(( $(ms) - t0 )) ms"
  echo "Swarm ($kind): ${swarm_ms[$kind]}"
  dk service rm web >/dev/null
  for _ in $(seq 1 900); do [ "$(dk ps -aq 2>/dev/null | wc -l)" = 0 ] && break; sleep 0.2; done
}
if [ "${NO_SWARM:-}" = 1 ]; then
  swarm_note="not run (NO_SWARM=1)"
elif ip link show docker0 >/dev/null 2>&1; then
  swarm_note="not run: a docker0 bridge already exists (another dockerd runs on this machine)"
else
  swarm_version=$(dockerd --version | awk '{print $3}' | tr -d ,)
  echo "== Swarm: dockerd $swarm_version of its own (state in $work/docker)"
  mkdir -p "$work/docker"
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: a task uses the loaded image without asking a registry.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd --data-root "$work/docker/root" --exec-root "$work/docker/exec" \
    -H "unix://$dsock" --pidfile "$work/docker/dockerd.pid" >"$work/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for i in $(seq 1 600); do
    dk version >/dev/null 2>&1 && break
    [ -d "/proc/$dockerd_pid" ] || { tail -20 "$work/dockerd.log"; echo "dockerd exited" >&2; exit 1; }
    [ "$i" -lt 600 ] || { tail -20 "$work/dockerd.log"; echo "dockerd not ready in 60 s" >&2; exit 1; }
    sleep 0.1
  done
  if ! dk swarm init --advertise-addr 127.0.0.1 --listen-addr "127.0.0.1:$(free_port)" --data-path-port "$(free_udp_port)" >"$work/swarm-init.log" 2>&1; then
    swarm_note="not run: docker swarm init failed: $(tail -1 "$work/swarm-init.log")"
  else
    dk load -q -i "$work/image.tar" >/dev/null
    swarm_run health
    swarm_run running
  fi
  stop_swarm || true
fi

# ---------------------------------------------------------------- results
verdict=$([ "$fleet_ms" -le 3000 ] && echo "✓" || echo "✗")
ratio=""
if [ -n "${swarm_ms[health]:-}" ]; then
  swarm_cell="Docker Swarm $swarm_version (1 engine): healthy ${swarm_ms[health]}; running, no health check ${swarm_ms[running]:-?}"
  case "${swarm_ms[health]}" in *" ms") ratio=$(awk -v a="$fleet_ms" -v b="${swarm_ms[health]% ms}" 'BEGIN {printf "%.3f", a / b}') ;; esac
else
  swarm_cell="Docker Swarm: ${swarm_note:-not measured (see the log)}"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
when=$(date -u +%Y-%m-%dT%H:%MZ)
row="| scale 1 → $N on 3 nodes, time until all healthy | **$fleet_ms ms** ($fleet_spread) | $swarm_cell | $ratio | ≤ 3 s $verdict |"
echo
echo "$row"
echo "load average at the end: $load"

if [ "${NO_RESULTS:-}" != 1 ]; then
  notes=$(sed -n '/^<!-- notes:begin -->/,$p' "$here/RESULTS.md" 2>/dev/null || true)
  cat >"$here/RESULTS.md" <<MD
# Scale on a 3-node cluster — \`bench/scale3/run.sh\`

$when, $(nproc) cores, kernel $(uname -r), load average at the end: $load. Three fleetd on
127.0.0.1-3 (one machine), a busybox-httpd service (examples/hello-web's Fleetfile, the image on
every node already), HTTP health check every 500 ms; \`fleetctl scale web --replicas $N\` from 1,
until node1's /metrics counts $N healthy. Beside it Docker Swarm on Debian's docker.io
(one engine, single-node swarm), the same image loaded with \`docker load\`, the same command,
\`docker service scale web=$N\` from 1: until $N containers are healthy (an exec'd \`wget\` of
http://127.0.0.1:8080/, interval 1 s, timeout 5 s, start period 60 s — Docker's checks exec into
the container, and at Fleet's 500 ms/500 ms they time out on these 2 loaded cores and Swarm kills
the tasks as unhealthy in a loop), and again with no health check, until $N tasks run.

| measurement | Fleet | peer | ratio | target |
|---|---|---|---|---|
$row
MD
  if [ -n "$notes" ]; then printf '\n%s\n' "$notes" >>"$here/RESULTS.md"; fi
  python3 - "$repo/bench/RESULTS.md" "$when" "$load_before, at the end $load" "$row" <<'PY'
import sys, re
path, when, load, row = sys.argv[1:]
text = open(path).read()
block = f"""<!-- scale3:begin -->
## Elastic scaling (#7): scale on a 3-node cluster — `bench/scale3/run.sh` ([details](scale3/RESULTS.md))

{when}, load average before Fleet's run {load} (the end includes the peer's tasks and their health checks).

| measurement | Fleet | peer | ratio | target |
|---|---|---|---|---|
{row}
<!-- scale3:end -->"""
if "<!-- scale3:begin -->" in text:
    text = re.sub(r"<!-- scale3:begin -->.*?<!-- scale3:end -->", lambda _: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
  echo "wrote $here/RESULTS.md and the #7 scale row of bench/RESULTS.md"
fi
