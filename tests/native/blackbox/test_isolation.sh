# What the process sees: pid ns, hostname, env, cwd, user, capabilities, no_new_privs, masked
# and read-only paths, read-only root, fds, rlimits, sysctl, devices, loopback.
. "$(dirname "$0")/lib.sh"

b=$(mkbundle iso sh -c '
echo "pid=$$"
echo "host=$(hostname)"
echo "env=$FOO"
echo "cwd=$(pwd)"
echo "id=$(id -u):$(id -g):$(id -G)"
grep -E "^(CapEff|CapBnd|CapPrm|CapInh|CapAmb|NoNewPrivs):" /proc/self/status | tr -d "\t" | tr ":" "="
echo "fds=$(ls /proc/self/fd | tr "\n" " ")"
echo "nofile=$(ulimit -n)"
echo "timer_list=$(cat /proc/timer_list 2>&1 | wc -c)"
echo "firmware=$(ls -A /sys/firmware | wc -l)"
if echo 1 > /proc/sys/kernel/domainname 2>/dev/null; then echo procsys=writable; else echo procsys=ro; fi
if touch /rootfile 2>/dev/null; then echo root=writable; else echo root=ro; fi
if touch /tmp/x 2>/dev/null; then echo tmp=writable; else echo tmp=ro; fi
echo "ipfwd=$(cat /proc/sys/net/ipv4/ip_forward)"
echo "devnull=$(ls -l /dev/null | cut -c1)$(echo hi > /dev/null && echo w)"
echo "devs=$(ls /dev | tr "\n" " ")"
echo "lo=$(cat /sys/class/net/lo/operstate)"
echo "oom=$(cat /proc/self/oom_score_adj)"
')
edit "$b" '
c["process"]["env"].append("FOO=bar baz")
c["process"]["cwd"] = "/tmp"
c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}
c["hostname"] = "fleet-iso"
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=1777"]})
c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
c["process"]["oomScoreAdj"] = 500
caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
c["process"]["capabilities"] = {"bounding": caps + ["CAP_CHOWN"], "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps}
'
out=$(rt run -b "$b" iso1)
echo "$out" | sed 's/^/  | /'
has() { echo "$out" | grep -qx "$1" || fail "expected line \`$1\`"; }
has "pid=1"
has "host=fleet-iso"
has "env=bar baz"
has "cwd=/tmp"
has "id=1000:1000:1000 10 20"
# CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_CHOWN=0
has "CapEff=0000000000000420"
has "CapPrm=0000000000000420"
has "CapInh=0000000000000420"
has "CapAmb=0000000000000420"
has "CapBnd=0000000000000421"
has "NoNewPrivs=1"
has "fds=0 1 2 3 "
has "nofile=1024"
has "firmware=0"
has "procsys=ro"
has "root=ro"
has "tmp=writable"
has "ipfwd=1"
has "devnull=cw"
has "lo=unknown"
has "oom=500"
for d in fd full null ptmx pts random stderr stdin stdout tty urandom zero; do
  echo "$out" | grep "^devs=" | grep -qw "$d" || fail "/dev/$d missing: $(echo "$out" | grep devs=)"
done
if [ -e /proc/timer_list ]; then has "timer_list=0"; fi
pass "pid 1, hostname, env, cwd, user+groups, 5 cap sets, NoNewPrivs, fds, rlimit, masked and read-only paths, sysctl, devices, loopback, oomScoreAdj"

# root in the container without caps cannot undo the masking
b=$(mkbundle unmask sh -c 'umount /sys/firmware 2>/dev/null && echo unmounted || echo refused')
[ "$(rt run -b "$b" iso2)" = refused ] || fail "a masked path could be unmounted"
pass "masked paths cannot be unmounted without CAP_SYS_ADMIN"

# no stray fds: the runtime's own fds never reach the container even when the caller has some
b=$(mkbundle fds sh -c 'ls /proc/self/fd | tr "\n" " "')
out=$(rt run -b "$b" iso3 7</dev/null 8</dev/null)
[ "$out" = "0 1 2 3 " ] || fail "stray fds: $out"
pass "fds of the caller are not inherited"

# the runtime binary is re-executed from a read-only mount: a container that reaches the shim's
# (or fleetrt exec's) /proc/PID/exe cannot write through it
b=$(mkbundle exe sleep 30)
rt run -d -b "$b" iso4 </dev/null >/dev/null 2>&1
shim=$(json "$(rt state iso4)" 'j["shim_pid"]')
set +e; sh -c "echo x >> /proc/$shim/exe" 2>/dev/null; code=$?; set -e
[ $code -ne 0 ] || fail "the shim's binary was writable through /proc/$shim/exe"
# ETXTBSY answers first while it runs; what protects the binary afterwards is the mount.
ro=$(/usr/bin/python3 -c 'import os,sys; print(bool(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY))' /proc/$shim/exe)
[ "$ro" = True ] || fail "the shim's /proc/PID/exe is not on a read-only mount"
cmp -s "/proc/$shim/exe" "$FLEET_SHIM" || fail "the shim does not run its own binary"
pass "the shim runs from a read-only view of its binary"

# the device cgroup: even with CAP_MKNOD a host disk node cannot be opened; /dev/null can
b=$(mkbundle devcg sh -c 'mknod /dev/sdz b 8 0 && (head -c1 /dev/sdz >/dev/null 2>&1 && echo opened || echo denied); echo ok > /dev/null && echo null-ok')
edit "$b" '
caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN"]
c["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
'
if [ -d /sys/fs/cgroup/devices ]; then
  [ "$(rt run -b "$b" iso5)" = "$(printf 'denied\nnull-ok')" ] || fail "device cgroup: $(rt run -b "$b" iso6 2>&1)"
  pass "the device cgroup refuses host devices and allows the defaults"
else
  fail "no v1 devices hierarchy: the v2 device filter (eBPF) is not implemented"
fi
