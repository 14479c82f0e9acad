# create / start / state / pause / resume / kill / delete, run's exit codes, list, exec.
. "$(dirname "$0")/lib.sh"

b=$(mkbundle true /bin/true)
rt run -b "$b" t1 || fail "run /bin/true exited $?"
[ ! -e "$ROOT/t1" ] || fail "run left its state dir"
pass "run /bin/true exits 0 and removes the container"

b=$(mkbundle exit3 sh -c 'exit 3')
set +e; rt run -b "$b" t2; code=$?; set -e
[ $code -eq 3 ] || fail "run exit code $code, want 3"
pass "run returns the container's exit code"

b=$(mkbundle sleeper sleep 60)
rt create -b "$b" c1 </dev/null >/dev/null 2>&1
st=$(rt state c1)
[ "$(json "$st" 'j["status"]')" = created ] || fail "after create: $st"
[ "$(json "$st" 'j["id"]')" = c1 ] || fail "state id: $st"
[ "$(json "$st" 'j["bundle"]')" = "$b" ] || fail "state bundle: $st"
[ "$(json "$st" 'j["ociVersion"]')" = 1.0.2 ] || fail "state ociVersion: $st"
pid=$(json "$st" 'j["pid"]')
[ "$pid" -gt 0 ] || fail "no pid in $st"
grep -q '^State:.*S' /proc/$pid/status || fail "created init is not waiting"
pass "create leaves the init waiting; state says created"

rt start c1
st=$(rt state c1)
[ "$(json "$st" 'j["status"]')" = running ] || fail "after start: $st"
sleep 0.1
[ "$(tr '\0' ' ' < /proc/$pid/cmdline)" = "sleep 60 " ] || fail "init did not exec sleep: $(tr '\0' ' ' < /proc/$pid/cmdline)"
set +e; rt start c1 2>/dev/null; code=$?; set -e
[ $code -ne 0 ] || fail "second start succeeded"
pass "start execs the process; a second start fails"

rt list | grep -q "^c1 .*running" || fail "list: $(rt list)"
[ "$(json "$(rt list --format json)" 'len(j)')" = 1 ] || fail "list json"
pass "list shows the container"

out=$(rt exec c1 sh -c 'echo $$; hostname; cat /proc/1/cmdline | tr "\0" " "')
echo "$out" | head -1 | grep -qv '^1$' || fail "exec ran as pid 1"
echo "$out" | grep -q "^runc$" || fail "exec hostname: $out"
echo "$out" | grep -q "^sleep 60" || fail "exec does not see the init: $out"
set +e; rt exec c1 sh -c 'exit 7'; code=$?; set -e
[ $code -eq 7 ] || fail "exec exit code $code"
pass "exec runs inside the container's namespaces with its exit code"

rt pause c1
[ "$(json "$(rt state c1)" 'j["status"]')" = paused ] || fail "after pause: $(rt state c1)"
grep -q '^State:.*[DS]' /proc/$pid/status || true
cat /sys/fs/cgroup/freezer$CGPARENT/sleeper/freezer.state | grep -q FROZEN || fail "freezer not FROZEN"
set +e; rt exec c1 true 2>/dev/null; code=$?; set -e
[ $code -ne 0 ] || fail "exec into a paused container succeeded"
rt resume c1
[ "$(json "$(rt state c1)" 'j["status"]')" = running ] || fail "after resume"
grep -q THAWED /sys/fs/cgroup/freezer$CGPARENT/sleeper/freezer.state || fail "freezer not THAWED"
pass "pause freezes and resume thaws"

set +e; rt delete c1 2>/dev/null; code=$?; set -e
[ $code -ne 0 ] || fail "delete of a running container without -f succeeded"
# PID 1 of a pid namespace ignores signals it has no handler for: TERM leaves sleep running.
rt kill c1 TERM
sleep 0.3
[ "$(json "$(rt state c1)" 'j["status"]')" = running ] || fail "TERM stopped a handler-less PID 1"
rt kill c1 KILL
wait_status c1 stopped
st=$(rt state c1)
[ "$(json "$st" 'j["exit_code"]')" = 137 ] || fail "exit code after KILL: $st"
[ "$(json "$st" 'j["exit_signal"]')" = 9 ] || fail "exit signal after KILL: $st"
[ "$(json "$st" 'j["oom_killed"]')" = False ] || fail "oom_killed after KILL: $st"
[ "$(json "$st" 'j["pid"]')" = 0 ] || fail "stopped pid: $st"
set +e; rt kill c1 KILL 2>/dev/null; code=$?; set -e
[ $code -ne 0 ] || fail "kill of a stopped container succeeded"
rt delete c1
[ ! -e "$ROOT/c1" ] || fail "delete left the state dir"
[ ! -e "/sys/fs/cgroup/memory$CGPARENT/sleeper" ] || fail "delete left the cgroup"
pass "kill KILL stops it with 137; delete removes state and cgroup"

b=$(mkbundle trapper sh -c 'trap "exit 42" TERM; touch /dev/shm/trapped; while :; do sleep 0.1; done')
rt run -d -b "$b" c3 </dev/null >/dev/null 2>&1
# PID 1 drops a TERM that arrives before its handler is installed: wait for the trap.
i=0; until rt exec c3 test -e /dev/shm/trapped; do i=$((i+1)); [ $i -lt 100 ] || fail "trap never set"; sleep 0.05; done
rt kill c3 TERM
wait_status c3 stopped
[ "$(json "$(rt state c3)" 'j["exit_code"]')" = 42 ] || fail "trap exit: $(rt state c3)"
rt delete c3
pass "kill delivers the named signal to the init's handler"

# With the init annotation pid 1 is fleetrt's init: the same handler-less sleep now stops on TERM
# (passed on to it as a child, which does not have pid 1's protection), with 128 + 15; and an
# orphan re-parented to pid 1 is reaped, not left a zombie.
b=$(mkbundle inited sh -c '(sleep 0.2 &) ; exec sleep 60')
edit "$b" 'c.setdefault("annotations", {})["org.fleet.init"] = "true"'
rt run -d -b "$b" c4 </dev/null >/dev/null 2>&1
pid=$(json "$(rt state c4)" 'j["pid"]')
i=0; until [ "$(rt exec c4 sh -c 'cat /proc/[0-9]*/stat' | awk '$2 == "(sleep)"' | wc -l)" = 1 ]; do i=$((i+1)); [ $i -lt 100 ] || fail "the orphan sleep was not reaped: $(rt exec c4 sh -c 'cat /proc/[0-9]*/stat')"; sleep 0.05; done
rt exec c4 sh -c 'cat /proc/[0-9]*/stat' | awk '$3 == "Z"' | grep -q . && fail "a zombie is left in the container"
[ "$(tr '\0' ' ' < /proc/$pid/cmdline)" != "sleep 60 " ] || fail "pid 1 is the process itself, not the init"
rt kill c4 TERM
wait_status c4 stopped
st=$(rt state c4)
[ "$(json "$st" 'j["exit_code"]')" = 143 ] || fail "exit code after TERM through the init: $st"
rt delete c4
pass "the init passes TERM on to the process, reaps orphans and exits with 128 + 15"

rt run -d -b "$b" c2 </dev/null >/dev/null 2>&1
[ "$(json "$(rt state c2)" 'j["status"]')" = running ] || fail "run -d not running"
rt pause c2
rt delete -f c2
[ ! -e "$ROOT/c2" ] || fail "delete -f left the state dir"
pass "run -d runs detached; delete -f removes a paused container"
