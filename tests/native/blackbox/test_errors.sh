# Bad input fails with an error naming the field or path, and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

b=$(mkbundle bad)
edit "$b" 'c["process"]["args"] = "sh"'
set +e; err=$(rt run -b "$b" e1 2>&1); code=$?; set -e
[ $code -ne 0 ] || fail "malformed config accepted"
echo "$err" | grep -q 'config.json: process.args: expected an array of strings' || fail "message: $err"
[ ! -e "$ROOT/e1" ] || fail "state dir left after a config error"
pass "malformed config.json names the field"

b=$(mkbundle noroot)
edit "$b" 'c["root"]["path"] = "/nonexistent-'"$PREFIX"'"'
set +e; err=$(rt create -b "$b" e2 2>&1 </dev/null); code=$?; set -e
[ $code -ne 0 ] || fail "missing rootfs accepted"
echo "$err" | grep -q "rootfs \`/nonexistent-$PREFIX\`: No such file or directory" || fail "message: $err"
[ ! -e "$ROOT/e2" ] || fail "state dir left after a missing rootfs"
[ ! -e "/sys/fs/cgroup/memory$CGPARENT/noroot" ] || fail "cgroup left after a missing rootfs"
pass "missing rootfs names the path and leaves nothing"

b=$(mkbundle nocmd /no/such/binary)
set +e; err=$(rt run -b "$b" e3 2>&1); code=$?; set -e
[ $code -ne 0 ] || fail "missing executable accepted"
echo "$err" | grep -q "exec \`/no/such/binary\`: No such file or directory" || fail "message: $err"
[ ! -e "$ROOT/e3" ] || fail "state dir left after exec failure"
[ ! -e "/sys/fs/cgroup/memory$CGPARENT/nocmd" ] || fail "cgroup left after exec failure"
pass "a missing executable fails create and cleans up"

b=$(mkbundle rl sleep 10)
edit "$b" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]'
set +e; err=$(rt run -b "$b" e4 2>&1); code=$?; set -e
[ $code -ne 0 ] || fail "rlimit above the hard limit accepted"
echo "$err" | grep -q "process.rlimits: set RLIMIT_NOFILE" || fail "message: $err"
pass "an rlimit above the hard limit is refused by name"

b=$(mkbundle dup sleep 30)
rt run -d -b "$b" d1 </dev/null >/dev/null 2>&1
set +e; err=$(rt run -d -b "$b" d1 2>&1 </dev/null); code=$?; set -e
[ $code -ne 0 ] || fail "duplicate id accepted"
echo "$err" | grep -q "container \`d1\` already exists" || fail "message: $err"
[ "$(json "$(rt state d1)" 'j["status"]')" = running ] || fail "the first d1 was disturbed"
pass "a duplicate id is refused and the first container is untouched"

set +e; err=$(rt state nosuch 2>&1); code=$?; set -e
[ $code -ne 0 ] && echo "$err" | grep -q "container \`nosuch\` does not exist" || fail "state of unknown: $err"
set +e; err=$(rt state ../x 2>&1); code=$?; set -e
[ $code -ne 0 ] && echo "$err" | grep -q "invalid container id" || fail "path id: $err"
pass "unknown and path-like ids are refused"
