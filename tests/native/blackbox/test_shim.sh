# fleet-shim: detached parent, JSON-lines log with rotation, control socket (stats, exec, kill,
# logs), survives its spawner being killed.
. "$(dirname "$0")/lib.sh"

# sock ID REQUEST: one request on the shim's control socket, prints the reply.
sock() {
  /usr/bin/python3 - "$ROOT/$1/shim.sock" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
# logs follows until the container exits: read it for 1.5 s
deadline = time.time() + (1.5 if sys.argv[2] == "logs" else 10)
out = b""
try:
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    pass
sys.stdout.write(out.decode())
PY
}

b=$(mkbundle logger sh -c 'i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i+1)); done; echo "to stderr" >&2; exec sleep 60')
mkdir -p "$ROOT"
ready=$("$FLEET_SHIM" --root "$ROOT" --id s1 --bundle "$b" --log "$WORK/s1.log" \
          --log-max-bytes 2000 --log-files 3 --start --ready-fd 3 3>&1 >/dev/null 2>&1 </dev/null)
case "$ready" in "ok "*) ;; *) fail "shim ready line: $ready" ;; esac
wait_status s1 running
sleep 0.5
[ -f "$WORK/s1.log" ] && [ -f "$WORK/s1.log.1" ] && [ -f "$WORK/s1.log.2" ] || fail "no rotation: $(ls "$WORK")"
[ ! -e "$WORK/s1.log.3" ] || fail "more than 3 log files kept"
for f in "$WORK"/s1.log*; do
  [ "$(stat -c %s "$f")" -le 2000 ] || fail "$f larger than the cap"
done
/usr/bin/python3 - "$WORK"/s1.log.2 "$WORK"/s1.log.1 "$WORK"/s1.log <<'PY' || fail "log content"
import json, sys, re
entries = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
assert all(set(e) == {"time", "stream", "log"} for e in entries), entries[:3]
assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", e["time"]) for e in entries)
out = [e["log"] for e in entries if e["stream"] == "stdout"]
assert out[-1] == "line 99\n", out[-1]
nums = [int(l.split()[1]) for l in out]
assert nums == sorted(nums) and nums == list(range(nums[0], 100)), nums
assert {"stream": "stderr", "log": "to stderr\n"}.items() <= [e for e in entries if e["stream"] == "stderr"][0].items()
PY
pass "stdout/stderr captured as JSON lines, rotated at the size cap, 3 files kept"

out=$(sock s1 stats)
[ "$(json "$out" 'j["pids_current"]')" = 1 ] || fail "socket stats: $out"
out=$(sock s1 'exec ["sh","-c","echo hi; echo oops >&2; exit 3"]')
[ "$(json "$out" 'j["exit_code"]')" = 3 ] || fail "socket exec: $out"
[ "$(json "$out" 'j["stdout"]')" = hi ] || fail "socket exec stdout: $out"
[ "$(json "$out" 'j["stderr"]')" = oops ] || fail "socket exec stderr: $out"
[ "$(sock s1 logs)" = "$(cat "$WORK/s1.log")" ] || fail "logs over the socket differ from the log file"
[ "$(sock s1 'kill KILL')" = ok ] || fail "socket kill"
wait_status s1 stopped
[ "$(json "$(rt state s1)" 'j["exit_code"]')" = 137 ] || fail "exit after socket kill"
i=0; while [ -e "$ROOT/s1/shim.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ ! -e "$ROOT/s1/shim.sock" ] || fail "shim did not exit after the container"
rt delete s1
pass "control socket: stats, exec with output and exit code, logs, kill; shim exits after"

b=$(mkbundle ticker sh -c 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.2; done')
ready=$("$FLEET_SHIM" --root "$ROOT" --id s3 --bundle "$b" --log "$WORK/s3.log" --start \
          --ready-fd 3 3>&1 >/dev/null 2>&1 </dev/null)
sleep 0.3
before=$(wc -l < "$WORK/s3.log")
followed=$(sock s3 logs | wc -l)
[ "$followed" -ge $((before + 4)) ] || fail "logs did not follow: $before lines before, $followed read"
rt delete -f s3
pass "logs over the socket follows new output"

b=$(mkbundle survivor sleep 60)
setsid sh -c '"$0" --root "$1" run -d -b "$2" s2 </dev/null >/dev/null 2>&1; exec sleep 60' \
  "$FLEETRT" "$ROOT" "$b" &
spawner=$!
wait_status s2 running
shim=$(json "$(rt state s2)" 'j["shim_pid"]')
/bin/kill -KILL -- "-$spawner"
wait "$spawner" 2>/dev/null || true
sleep 0.2
kill -0 "$shim" || fail "the shim died with its spawner"
[ "$(json "$(rt state s2)" 'j["status"]')" = running ] || fail "container died with the spawner"
[ "$(rt exec s2 echo alive)" = alive ] || fail "exec after the spawner died"
[ "$(json "$(sock s2 stats)" 'j["pids_current"]')" = 1 ] || fail "shim socket after the spawner died"
pass "the shim and its container survive the spawner's process group being killed"

# A fresh process (a restarted agent) finds it from the state dir alone.
[ "$(json "$(rt list --format json)" '[c["id"] for c in j if c["status"] == "running"]')" = "['s2']" ] || fail "re-adoption list"
rt delete -f s2
pass "a new process re-adopts running containers from the state root"
