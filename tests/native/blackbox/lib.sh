# Shared setup for the black-box tests. Sourced by each test_*.sh, which ctest runs under the
# reaper. Everything a test makes carries a unique prefix and is removed by the EXIT trap:
# containers (delete -f), the state root, the work dir, and the cgroup parent /$PREFIX in every
# hierarchy. Anything left over (a cgroup, a mount, a state dir) fails the test.
set -eu

: "${FLEETRT:?set FLEETRT to the fleetrt binary}"
: "${FLEET_SHIM:=$(dirname "$FLEETRT")/fleet-shim}"
: "${FLEETRT_TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"

PREFIX="fltest-$(basename "$0" .sh | tr _ -)-$$"
WORK=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
ROOT="$WORK/state"
CGPARENT="/$PREFIX"
ROOTFS="$WORK/rootfs"
FAILED=0

fail() {
  echo "FAIL: $*" >&2
  FAILED=1
  exit 1
}

pass() { echo "ok - $*"; }

rt() { "$FLEETRT" --root "$ROOT" "$@"; }

# json FILE-OR-TEXT EXPR: evaluates a Python expression over the parsed JSON `j`.
json() {
  /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

cleanup() {
  status=$?
  set +e
  if [ -d "$ROOT" ]; then
    for dir in "$ROOT"/*/; do
      [ -d "$dir" ] || continue
      "$FLEETRT" --root "$ROOT" delete -f "$(basename "$dir")" >/dev/null 2>&1
    done
    leftover=$(ls -A "$ROOT" 2>/dev/null)
    [ -z "$leftover" ] || { echo "LEAK: state dirs left: $leftover" >&2; status=1; }
  fi
  for hier in /sys/fs/cgroup/ /sys/fs/cgroup/*/; do
    d="$hier$PREFIX"
    [ -d "$d" ] || continue
    for sub in "$d"/*/; do
      [ -d "$sub" ] || continue
      echo "LEAK: cgroup $sub" >&2
      status=1
      rmdir "$sub" 2>/dev/null
    done
    rmdir "$d" 2>/dev/null
  done
  for d in /sys/fs/cgroup/*/fleetrt/"$PREFIX"-*; do
    [ -d "$d" ] || continue
    echo "LEAK: cgroup $d" >&2
    status=1
    rmdir "$d" 2>/dev/null
  done
  # The default parent (/fleetrt) is shared by every container made without a cgroupsPath;
  # remove it once it is empty so a test run leaves no cgroup behind (rmdir refuses if in use).
  rmdir /sys/fs/cgroup/*/fleetrt /sys/fs/cgroup/fleetrt 2>/dev/null
  if grep -q "$WORK" /proc/self/mountinfo; then
    echo "LEAK: mounts under $WORK" >&2
    status=1
  fi
  rm -rf "$WORK"
  [ $status -eq 0 ] && [ $FAILED -eq 0 ] && echo "PASS $(basename "$0")"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The shared read-only busybox rootfs.
"$FLEETRT_TESTS/make-bundle.sh" "$WORK/template" >/dev/null
mv "$WORK/template/rootfs" "$ROOTFS"

# mkbundle NAME [ARG...]: a bundle dir using the shared rootfs, its own cgroup under the run's
# prefix, and runc's default config otherwise. Prints its path.
mkbundle() {
  name=$1
  shift
  b="$WORK/bundles/$name"
  mkdir -p "$b"
  /usr/bin/python3 - "$WORK/template/config.json" "$b/config.json" "$ROOTFS" "$CGPARENT/$name" "$@" <<'PY'
import json, sys
src, dst, rootfs, cg, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
c = json.load(open(src))
c["root"]["path"] = rootfs
c["linux"]["cgroupsPath"] = cg
if args:
    c["process"]["args"] = args
json.dump(c, open(dst, "w"), indent=1)
PY
  echo "$b"
}

# edit BUNDLE PYTHON: runs Python statements over the bundle's config `c`.
edit() {
  /usr/bin/python3 - "$1/config.json" "$2" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
exec(sys.argv[2])
json.dump(c, open(path, "w"), indent=1)
PY
}

# wait_status ID STATUS [TRIES]: polls `state` until it reports STATUS.
wait_status() {
  i=0
  while [ $i -lt "${3:-200}" ]; do
    s=$(rt state "$1" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
    [ "$s" = "$2" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  fail "container $1 never reached $2 (last: ${s:-none})"
}
