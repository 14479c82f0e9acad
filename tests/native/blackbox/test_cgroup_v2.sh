# The cgroup v2 backend on a real cgroup2 hierarchy: /sys/fs/cgroup on a pure v2 host, the
# (controller-less) /sys/fs/cgroup/unified on a hybrid one like these machines. Covers enter,
# freeze/thaw (cgroup.freeze + cgroup.events), kill (cgroup.kill) and removal; the limits and
# stats need the v2 controllers and are covered by test_cgroup.c on a fake tree.
. "$(dirname "$0")/lib.sh"

if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  export FLEETRT_CGROUP_MOUNT=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  export FLEETRT_CGROUP_MOUNT=/sys/fs/cgroup/unified
else
  fail "no cgroup2 hierarchy on this machine"
fi
export FLEETRT_CGROUP_BACKEND=v2
cg="$FLEETRT_CGROUP_MOUNT$CGPARENT"

b=$(mkbundle v2 sh -c 'sleep 60 & sleep 60')
edit "$b" 'c["linux"].pop("resources", None)'
rt run -d -b "$b" w1 </dev/null >/dev/null 2>&1
pid=$(json "$(rt state w1)" 'j["pid"]')
grep -qx "$pid" "$cg/v2/cgroup.procs" || fail "init not in $cg/v2"
rt pause w1
[ "$(json "$(rt state w1)" 'j["status"]')" = paused ] || fail "not paused"
grep -qx "frozen 1" "$cg/v2/cgroup.events" || fail "cgroup.events not frozen"
grep -q '^State:.*S' /proc/$pid/status || fail "init state"
rt resume w1
grep -qx "frozen 0" "$cg/v2/cgroup.events" || fail "cgroup.events still frozen"
[ "$(json "$(rt state w1)" 'j["status"]')" = running ] || fail "not running after resume"
rt pause w1
rt delete -f w1
[ ! -e "$cg/v2" ] || fail "cgroup left after delete -f of a frozen container"
pass "v2: init placed in the cgroup, freeze and thaw, delete -f of a frozen container"
