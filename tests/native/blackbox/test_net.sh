# Networking over rtnetlink (annotations org.fleet.net.*): veth into the container as eth0,
# host end on a bridge, address and default route; containers reach each other and the host
# reaches them; the veth goes away with the container. The test gives the bridge its address
# with ip(8) (the host's business, not the runtime's) and removes the bridge at the end.
. "$(dirname "$0")/lib.sh"

br="flt$$"
net="10.231.$(( $$ % 250 ))"
cleanup_net() { ip link del "$br" 2>/dev/null || true; }
trap 'cleanup_net; cleanup' EXIT

netbundle() { # NAME ADDRESS ARG...
  name=$1 addr=$2
  shift 2
  nb=$(mkbundle "$name" "$@")
  edit "$nb" 'c["annotations"] = {"org.fleet.net.bridge": "'"$br"'", "org.fleet.net.address": "'"$addr"'", "org.fleet.net.gateway": "'"$net.1"'"}'
  echo "$nb"
}

b1=$(netbundle server "$net.2/24" sh -c 'while :; do echo hello-from-server | nc -l -p 8080; done')
rt run -d -b "$b1" n1 </dev/null >/dev/null 2>&1
ip link show "$br" >/dev/null || fail "bridge $br not created"
ip addr add "$net.1/24" dev "$br"
[ "$(ip -o link show master "$br" | wc -l)" = 1 ] || fail "veth not on the bridge"

b2=$(netbundle client "$net.3/24" sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; ip route | grep default; nc '"$net"'.2 8080')
out=$(rt run -b "$b2" n2)
echo "$out" | grep -qx "$net.3/24" || fail "client address: $out"
echo "$out" | grep -q "default via $net.1 dev eth0" || fail "client route: $out"
echo "$out" | grep -qx "hello-from-server" || fail "container to container: $out"
pass "eth0 with address and default route; container reaches container over the bridge"

got=$(/usr/bin/python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], 8080), 3); print(s.recv(100).decode().strip())' "$net.2")
[ "$got" = hello-from-server ] || fail "host to container: $got"
pass "the host reaches the container through the bridge"

rt delete -f n1
i=0; while [ "$(ip -o link show master "$br" | wc -l)" != 0 ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i+1)); done
[ "$(ip -o link show master "$br" | wc -l)" = 0 ] || fail "veth left on the bridge after delete"
pass "the veth goes with the container"

b3=$(mkbundle badnet true)
edit "$b3" 'c["annotations"] = {"org.fleet.net.bridge": "'"$br"'", "org.fleet.net.address": "300.1.1.1/24"}'
set +e; err=$(rt run -b "$b3" n3 2>&1); set -e
echo "$err" | grep -q "org.fleet.net.address: \`300.1.1.1/24\` is not an IPv4 CIDR" || fail "bad address: $err"
pass "a malformed address is refused by name"
