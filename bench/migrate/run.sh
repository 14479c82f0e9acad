#!/bin/bash
# bench/migrate/run.sh — downtime of a stateful replica migrated between two nodes, beside the
# naive path a user would script (stop, tar, copy, untar, start), in the same run.
# Two fleetd processes from one generated cluster.yaml (node N on 127.0.0.N, free ports, own
# data dir, bridge and subnet). The stateful-counter example (busybox httpd + CGI) gets 50 MB in
# its writable layer and 50 MB in its volume, and a writer inside it rewrites 1 MB of the volume
# every 100 ms, so about 1 MB changed is left for the freeze. Then:
#   fleet:  fleetctl migrate REPLICA --to <other node>; figures from `get migrations -o json`
#           (downtime = source frozen → replacement's container started) and, from a client
#           polling the counter through the mesh every 20 ms, the longest gap without an answer.
#   naive:  both fleetd stopped (the container keeps running, so nothing restarts it); then
#           kill the container, tar its writable layer and volume to a file, copy the file, untar
#           it, start the container from a copy of its bundle with fleetrt (same definition:
#           stop → container started).
# One command, as root:
#   bench/migrate/run.sh          # build (Release), RUNS runs, print; NO_BUILD=1 uses the existing build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
if [ "${NO_BUILD:-}" != 1 ]; then
  dotnet build "$repo/src/Fleet.Daemon" -c Release -nologo -v quiet
  dotnet build "$repo/src/Fleet.Cli" -c Release -nologo -v quiet
fi
fleetd="$repo/src/Fleet.Daemon/bin/Release/net10.0/fleetd"
fleetctl="$repo/src/Fleet.Cli/bin/Release/net10.0/fleetctl"
fleetrt="$repo/artifacts/native/Release/fleetrt"
work=$(mktemp -d /tmp/fleet-migrate-bench.XXXXXX)
prefix="fm$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
declare -A api http cluster pid
for n in 1 2; do api[$n]=$(free_port); http[$n]=$(free_port); cluster[$n]=$(free_port); pid[$n]=""; done
published=$(free_port)
ctl() { "$fleetctl" "${@:2}" --server "127.0.0.$1:${api[$1]}"; }
cexec() { local id=$1; shift; "$fleetctl" exec --server "127.0.0.1:${api[1]}" "$id" -- "$@"; }
declare -A flags
for n in 1 2; do flags[$n]="--bridge ${prefix}b$n --subnet 10.$((100 + RANDOM % 100)).$n.0/24"; done

{
  echo "kind: Cluster"
  echo "name: migrate-bench"
  echo "persistence:"
  echo "  provider: sqlite"
  echo "nodes:"
  for n in 1 2; do
    echo "  - name: node$n"
    echo "    address: 127.0.0.$n"
    echo "    ports: { api: ${api[$n]}, http: ${http[$n]}, cluster: ${cluster[$n]} }"
    echo "    roles: [control-plane, worker]"
    echo "    dataDir: $work/node$n"
  done
} >"$work/cluster.yaml"

start_node() {
  # shellcheck disable=SC2086
  "$fleetd" --config "$work/cluster.yaml" --node "node$1" --log-format json ${flags[$1]} >>"$work/node$1.log" 2>&1 </dev/null &
  pid[$1]=$!
}
wait_ready() {
  for _ in $(seq 1 1200); do
    timeout 5 busybox wget -q -O /dev/null "http://127.0.0.$1:${http[$1]}/healthz" 2>/dev/null && return 0
    [ -d "/proc/${pid[$1]}" ] || { tail -20 "$work/node$1.log"; echo "node$1 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "node$1 not ready" >&2; exit 1
}
stop_node() {
  if [ -n "${pid[$1]}" ] && [ -d "/proc/${pid[$1]}" ]; then
    kill -TERM "${pid[$1]}"
    for _ in $(seq 1 300); do [ -d "/proc/${pid[$1]}" ] || break; sleep 0.1; done
  fi
  pid[$1]=""
}
node_procs() {
  local root="$1" p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$root" || [[ "$(readlink "$p/root" 2>/dev/null)" == "$root"* ]]; then
      echo "${p#/proc/}"
    fi
  done
}
cleanup() {
  set +e
  [ -n "${client:-}" ] && kill "$client" 2>/dev/null
  if [ -n "${pid[1]}" ] && [ -d "/proc/${pid[1]}" ]; then ctl 1 delete service counter >/dev/null 2>&1; sleep 3; fi
  for n in 2 1; do stop_node "$n"; done
  for p in $(node_procs "$work"); do kill -KILL "$p" 2>/dev/null; done
  for root in "$work"/node1/runtime "$work"/node2/runtime; do
    [ -d "$root" ] && "$fleetrt" --root "$root" list --format json 2>/dev/null \
      | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]' 2>/dev/null \
      | while read -r id; do "$fleetrt" --root "$root" delete -f "$id" >/dev/null 2>&1; done
  done
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  for n in 1 2; do
    for t in nat filter; do
      iptables-save -t $t 2>/dev/null | grep -- "fleet:${prefix}b$n" | sed 's/^-A/-D/' | while read -r rule; do eval "iptables -t $t $rule"; done
    done
    ip link del "${prefix}b$n" 2>/dev/null
  done
  find /sys/fs/cgroup -depth -type d -name "*${prefix}*" -exec rmdir {} \; 2>/dev/null
  # The naive run's container lived under node N's cgroup parent without fleetd to remove it:
  # /fleet/nodeN-<first 8 hex of sha256(data dir)>, then /fleet itself when empty.
  for n in 1 2; do
    parent="node$n-$(printf %s "$work/node$n" | sha256sum | cut -c1-8)"
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do rmdir "$h/fleet/$parent" "$h/fleet" 2>/dev/null; done
  done
  rm -rf "$work"
  true
}
trap cleanup EXIT

echo "== 2 fleetd on 127.0.0.1-2 (work $work)"
for n in 1 2; do start_node "$n"; done
for n in 1 2; do wait_ready "$n"; done
for _ in $(seq 1 600); do [ "$(ctl 1 get nodes -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 2 ] && break; sleep 0.2; done
ctl 1 get nodes -o wide

echo "== stateful-counter image and service"
mkdir -p "$work/context"
cp "$repo/examples/stateful-counter/Fleetfile" "$repo/examples/stateful-counter/count" /bin/busybox "$work/context/"
image="127.0.0.1:${http[1]}/counter:bench"
ctl 1 build -t "$image" "$work/context" >/dev/null
ctl 1 push "$image" >/dev/null
sed -e "s#image: counter#image: $image#" -e "s#published: 7070#published: $published#" -e "s#memory: 16Mi#memory: 256Mi#" \
  "$repo/examples/stateful-counter/counter.yaml" >"$work/counter.yaml"
ctl 1 apply -f "$work/counter.yaml" >/dev/null
replica() { ctl 1 get replicas --service counter -o json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["state"] in ("healthy","running")]; print(r[0]["id"], r[0]["node"]) if r else print("")'; }
for _ in $(seq 1 600); do [ -n "$(replica)" ] && break; sleep 0.2; done

# client: GET ?inc through node1's mesh every 20 ms; prints "ms ok|fail"
poll() { while :; do if timeout 2 busybox wget -q -O - "http://127.0.0.1:$published/cgi-bin/count?inc" >/dev/null 2>&1; then echo "$(ms) ok"; else echo "$(ms) fail"; fi; sleep 0.02; done; }
gap() { python3 -c '
import sys
t=[int(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1]=="ok"]
print(max((b-a for a,b in zip(t,t[1:])), default=0))' "$1"; }

fleet_downtimes=(); fleet_gaps=(); fleet_final=()
for run in $(seq 1 "$RUNS"); do
  read -r id node < <(replica)
  to=$([ "$node" = node1 ] && echo node2 || echo node1)
  cexec "$id" sh -c 'dd if=/dev/urandom of=/state/fill bs=1048576 count=50 2>/dev/null; dd if=/dev/urandom of=/data/fill bs=1048576 count=50 2>/dev/null; sync' >/dev/null
  cexec "$id" sh -c 'setsid sh -c "while :; do dd if=/dev/urandom of=/data/hot.new bs=1048576 count=1 2>/dev/null; mv /data/hot.new /data/hot; usleep 100000; done" </dev/null >/dev/null 2>&1 &' >/dev/null
  poll >"$work/client$run.log" & client=$!
  sleep 1
  ctl 1 migrate "$id" --to "$to" --timeout 3m >"$work/migrate$run.log"
  sleep 2; kill "$client"; client=""
  figures=$(ctl 1 get migrations -o json | python3 -c "
import json,sys
m=[x for x in json.load(sys.stdin) if x['replica']=='$id'][0]
print(round(m['downtimeMs']), m['preCopyBytes'], m['finalCopyBytes'], round(m['freezeMs']), round(m['finalCopyMs']))")
  read -r down pre final freeze finalms <<<"$figures"
  g=$(gap "$work/client$run.log")
  echo "run $run: $id $node → $to: downtime ${down} ms (frozen ${freeze} ms, final copy ${final} B in ${finalms} ms, pre-copy ${pre} B); client's longest gap ${g} ms"
  fleet_downtimes+=("$down"); fleet_gaps+=("$g"); fleet_final+=("$final")
  for _ in $(seq 1 600); do r=$(replica); [ -n "$r" ] && [ "${r#* }" = "$to" ] && break; sleep 0.2; done
done

echo "== naive: stop, tar, copy, untar, start (fleetd stopped; fleetrt on the container)"
read -r id node < <(replica)
n=${node#node}; other=$([ "$n" = 1 ] && echo 2 || echo 1)
for m in 1 2; do stop_node "$m"; done
src="$work/node$n"; dst="$work/naive"; mkdir -p "$dst/bundle" "$dst/volumes" "$dst/copy"
bundle="$src/replicas/$id"
cp "$bundle"/config.json "$bundle"/hosts "$bundle"/resolv.conf "$bundle"/hostname "$dst/bundle/"
mkdir -p "$dst/bundle/rootfs" "$dst/bundle/work" "$dst/bundle/logs"
sed -i -e "s#$bundle#$dst/bundle#g" -e "s#$src/volumes#$dst/volumes#g" "$dst/bundle/config.json"
t0=$(ms)
"$fleetrt" --root "$src/runtime" kill "$id" KILL >/dev/null 2>&1 || true
for _ in $(seq 1 200); do "$fleetrt" --root "$src/runtime" state "$id" 2>/dev/null | grep -q '"stopped"' && break; sleep 0.01; done
"$fleetrt" --root "$src/runtime" delete -f "$id" >/dev/null 2>&1 || true
tar -C "$bundle" -cf "$work/state.tar" upper
tar -C "$src/volumes" -cf "$work/volume.tar" counter-data
cp "$work/state.tar" "$work/volume.tar" "$dst/copy/"
tar -C "$dst/bundle" -xf "$dst/copy/state.tar"
tar -C "$dst/volumes" -xf "$dst/copy/volume.tar"
"$fleetrt" --root "$work/node$other/runtime" run -d -b "$dst/bundle" "$id" >/dev/null
t1=$(ms)
naive=$((t1 - t0))
size=$(du -sb "$work/state.tar" "$work/volume.tar" | awk '{s+=$1} END {print s}')
echo "naive: ${naive} ms (stop → container started; ${size} B in tar files)"
"$fleetrt" --root "$work/node$other/runtime" delete -f "$id" >/dev/null 2>&1 || true
umount -l "$dst/bundle/rootfs" 2>/dev/null || true

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "== result"
echo "fleet freeze-and-copy: downtime median $(median "${fleet_downtimes[@]}") ms of ${RUNS} (${fleet_downtimes[*]}); client's longest gap median $(median "${fleet_gaps[@]}") ms (${fleet_gaps[*]}); final copy bytes ${fleet_final[*]}"
echo "naive stop/tar/copy/untar/start: ${naive} ms"
