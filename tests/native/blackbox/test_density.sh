# 200 containers started and stopped concurrently; nothing leaked afterwards: no state dirs, no
# cgroups (checked by lib.sh), no mounts on the host, no processes (checked by the reaper).
. "$(dirname "$0")/lib.sh"

N=${FLEETRT_DENSITY_N:-200}
b=$(mkbundle dens sleep 600)
# default cgroup path /fleetrt/ID: the ids carry the prefix, lib.sh checks for leftovers
edit "$b" 'del c["linux"]["cgroupsPath"]'
mounts_before=$(wc -l < /proc/self/mountinfo)

t0=$(date +%s%N)
seq 1 "$N" | xargs -P 8 -I{} sh -c \
  '"$0" --root "$1" run -d -b "$2" "$3-{}" </dev/null >/dev/null 2>&1 || echo "start {} failed"' \
  "$FLEETRT" "$ROOT" "$b" "$PREFIX" > "$WORK/start-failures"
t1=$(date +%s%N)
[ ! -s "$WORK/start-failures" ] || fail "$(wc -l < "$WORK/start-failures") starts failed: $(head -3 "$WORK/start-failures")"
running=$(json "$(rt list --format json)" 'sum(1 for c in j if c["status"] == "running")')
[ "$running" -eq "$N" ] || fail "$running of $N running"
rss=$(for d in "$ROOT"/*/; do
        p=$(sed -n "s/.*\"parent_pid\":\([0-9]*\).*/\1/p" "$d/state.json")
        awk '/^VmRSS/ {print $2}' "/proc/$p/status"
      done | awk '{s += $1} END {printf "%d", s / NR}')
echo "  started $N in $(( (t1 - t0) / 1000000 )) ms; mean shim RSS ${rss} kB"

t2=$(date +%s%N)
seq 1 "$N" | xargs -P 8 -I{} sh -c \
  '"$0" --root "$1" delete -f "$2-{}" 2>&1 || echo "delete {} failed"' \
  "$FLEETRT" "$ROOT" "$PREFIX" > "$WORK/stop-failures"
t3=$(date +%s%N)
[ ! -s "$WORK/stop-failures" ] || fail "deletes failed: $(head -3 "$WORK/stop-failures")"
echo "  stopped $N in $(( (t3 - t2) / 1000000 )) ms"
[ -z "$(ls -A "$ROOT")" ] || fail "state dirs left: $(ls "$ROOT" | head)"
ls -d /sys/fs/cgroup/*/fleetrt/"$PREFIX"-* >/dev/null 2>&1 && fail "cgroups left"
[ "$(wc -l < /proc/self/mountinfo)" -eq "$mounts_before" ] || fail "host mount table changed"
pass "$N containers started and stopped concurrently with nothing left"
