# Resource limits through the real cgroup hierarchy: memory limit -> OOM kill reported, pids
# limit enforced, cpu settings written, stats JSON.
. "$(dirname "$0")/lib.sh"

if [ -e /sys/fs/cgroup/cgroup.controllers ]; then v2=1; else v2=0; fi
cgfile() { # CONTROLLER NAME FILE
  if [ $v2 = 1 ]; then cat "/sys/fs/cgroup$CGPARENT/$2/$3"; else cat "/sys/fs/cgroup/$1$CGPARENT/$2/$3"; fi
}

b=$(mkbundle oom sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo survived')
edit "$b" 'c["linux"]["resources"] = {"memory": {"limit": 16777216, "swap": 16777216}}'
rt create -b "$b" m1 </dev/null >/dev/null 2>&1
if [ $v2 = 1 ]; then f=memory.max; else f=memory.limit_in_bytes; fi
[ "$(cgfile memory oom $f)" = 16777216 ] || fail "memory limit not written: $(cgfile memory oom $f)"
rt start m1
wait_status m1 stopped
st=$(rt state m1)
[ "$(json "$st" 'j["oom_killed"]')" = True ] || fail "OOM not reported: $st"
rt delete m1
pass "a memory hog over the limit is OOM-killed and state says oom_killed"

b=$(mkbundle oomfg dd if=/dev/zero of=/dev/null bs=64M count=1)
edit "$b" 'c["linux"]["resources"] = {"memory": {"limit": 16777216}}'
set +e; rt run -b "$b" m2 2>/dev/null; code=$?; set -e
[ $code -eq 137 ] || fail "foreground OOM exit code $code, want 137"
pass "run in the foreground exits 137 when the init is OOM-killed"

# ash exits when fork fails: the inner shell forks until the limit, the outer one stays.
b=$(mkbundle pids sh -c 'sh -c "i=0; while [ \$i -lt 20 ]; do sleep 30 & i=\$((i+1)); done" 2>/dev/null; exec sleep 60')
edit "$b" 'c["linux"]["resources"] = {"pids": {"limit": 8}, "memory": {"limit": 67108864}, "cpu": {"shares": 512, "quota": 50000, "period": 100000}}'
rt run -d -b "$b" p1 </dev/null >/dev/null 2>&1
sleep 0.5
st=$(rt stats p1)
for k in cpu_usage_ns memory_usage_bytes memory_peak_bytes memory_limit_bytes pids_current oom_kills; do
  json "$st" "j['$k']" >/dev/null || fail "stats lacks $k: $st"
done
n=$(json "$st" 'j["pids_current"]')
[ "$n" -le 8 ] && [ "$n" -ge 6 ] || fail "pids_current $n with a limit of 8 (20 forks tried)"
grep -q "^max [1-9]" "$( [ $v2 = 1 ] && echo /sys/fs/cgroup$CGPARENT/pids || echo /sys/fs/cgroup/pids$CGPARENT/pids)/pids.events" \
  || fail "pids.events shows no refused fork"
[ "$(json "$st" 'j["memory_limit_bytes"]')" = 67108864 ] || fail "memory_limit_bytes: $st"
[ "$(json "$st" 'j["memory_usage_bytes"] > 0 and j["memory_peak_bytes"] >= j["memory_usage_bytes"]')" = True ] || fail "memory: $st"
[ "$(json "$st" 'j["cpu_usage_ns"] > 0')" = True ] || fail "cpu: $st"
if [ $v2 = 1 ]; then
  [ "$(cgfile cpu pids cpu.max)" = "50000 100000" ] || fail "cpu.max"
else
  [ "$(cgfile cpu pids cpu.cfs_quota_us)" = 50000 ] || fail "cfs_quota_us"
  [ "$(cgfile cpu pids cpu.shares)" = 512 ] || fail "cpu.shares"
fi
rt delete -f p1
pass "pids limit holds at 8; cpu shares/quota written; stats JSON complete"

# without a cgroup namespace the container's /sys/fs/cgroup shows its own cgroup, read-only
if [ $v2 = 0 ]; then
  b=$(mkbundle cgview sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls /sys/fs/cgroup/memory | grep -c "^fleetrt\|^fltest" ; touch /sys/fs/cgroup/memory/x 2>/dev/null && echo writable || echo ro')
  edit "$b" 'c["linux"]["resources"] = {"memory": {"limit": 33554432}}'
  [ "$(rt run -b "$b" v1)" = "$(printf '33554432\n0\nro')" ] || fail "cgroup view: $(rt run -b "$b" v2 2>&1)"
  pass "/sys/fs/cgroup in the container is its own cgroup, read-only"
fi
