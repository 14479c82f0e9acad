# Namespaces joined by path (linux.namespaces[].path) and a new cgroup namespace.
. "$(dirname "$0")/lib.sh"

a=$(mkbundle alpha sleep 60)
edit "$a" 'c["hostname"] = "alpha"'
rt run -d -b "$a" j1 </dev/null >/dev/null 2>&1
pid=$(json "$(rt state j1)" 'j["pid"]')

b=$(mkbundle beta sh -c 'hostname; ps -o comm | tr "\n" " "; cat /sys/class/net/lo/ifindex')
edit "$b" '
del c["hostname"]
for ns in c["linux"]["namespaces"]:
    if ns["type"] in ("uts", "network", "pid", "ipc"):
        ns["path"] = "/proc/'"$pid"'/ns/" + {"uts": "uts", "network": "net", "pid": "pid", "ipc": "ipc"}[ns["type"]]
'
out=$(rt run -b "$b" j2)
echo "$out" | head -1 | grep -qx alpha || fail "uts not joined: $out"
echo "$out" | sed -n 2p | grep -qw sleep || fail "pid namespace not joined: $out"
[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] || fail "alpha shares the host netns"
pass "uts, pid, ipc and network namespaces joined by path"
[ "$(json "$(rt state j1)" 'j["status"]')" = running ] || fail "alpha disturbed by the joiner"

c=$(mkbundle cgns cat /proc/self/cgroup)
edit "$c" 'c["linux"]["namespaces"].append({"type": "cgroup"})'
out=$(rt run -b "$c" j3)
echo "$out" | grep -q "memory:/$" || fail "cgroup namespace not rooted at the container: $out"
echo "$out" | grep -q "$PREFIX" && fail "the container sees its host cgroup path: $out"
pass "a new cgroup namespace is rooted at the container's cgroup"
rt delete -f j1
