# Overlay rootfs from layer directories (annotations org.fleet.rootfs.*): writes land in the
# upper dir, the layers stay untouched, the upper dir outlives the container.
. "$(dirname "$0")/lib.sh"

top="$WORK/layers/top"
mkdir -p "$top/etc" "$WORK/c1/upper" "$WORK/c1/work" "$WORK/c1/mnt"
echo top > "$top/etc/motd"
before=$(cd "$WORK/layers" && find . -type f -exec md5sum {} + | sort; cd "$ROOTFS" && find . | sort | md5sum)

b=$(mkbundle ovl sh -c 'cat /etc/motd; echo new > /newfile; echo changed > /etc/motd; rm /bin/ls; cat /etc/motd; [ -e /bin/ls ] && echo ls-still-there || echo ls-gone')
edit "$b" '
c["root"] = {"path": "'"$WORK"'/c1/mnt", "readonly": False}
c.setdefault("annotations", {})
c["annotations"]["org.fleet.rootfs.layers"] = "'"$top:$ROOTFS"'"
c["annotations"]["org.fleet.rootfs.upper"] = "'"$WORK"'/c1/upper"
c["annotations"]["org.fleet.rootfs.work"] = "'"$WORK"'/c1/work"
'
out=$(rt run -b "$b" o1)
[ "$out" = "$(printf 'top\nchanged\nls-gone')" ] || fail "container saw: $out"
[ "$(cat "$WORK/c1/upper/newfile")" = new ] || fail "new file not in the upper dir"
[ "$(cat "$WORK/c1/upper/etc/motd")" = changed ] || fail "changed file not in the upper dir"
[ -c "$WORK/c1/upper/bin/ls" ] || fail "no whiteout for the removed file in the upper dir"
after=$(cd "$WORK/layers" && find . -type f -exec md5sum {} + | sort; cd "$ROOTFS" && find . | sort | md5sum)
[ "$before" = "$after" ] || fail "a layer directory changed"
[ "$(cat "$top/etc/motd")" = top ] || fail "top layer modified"
[ -z "$(ls -A "$WORK/c1/mnt")" ] || fail "the overlay leaked onto the host mount point"
pass "writes land in the upper dir, layers untouched, nothing mounted on the host"

# a second container over the same upper dir sees the first one's writes (migration keeps it)
b2=$(mkbundle ovl2 cat /newfile)
edit "$b2" '
c["root"] = {"path": "'"$WORK"'/c1/mnt", "readonly": False}
c["annotations"] = {"org.fleet.rootfs.layers": "'"$top:$ROOTFS"'", "org.fleet.rootfs.upper": "'"$WORK"'/c1/upper", "org.fleet.rootfs.work": "'"$WORK"'/c1/work"}
'
[ "$(rt run -b "$b2" o2)" = new ] || fail "upper dir not reused"
pass "the upper dir survives the container and is reusable"

# layers without an upper dir: a read-only overlay
b3=$(mkbundle ovl3 sh -c 'cat /etc/motd; touch /x 2>/dev/null && echo wrote || echo refused')
edit "$b3" '
c["root"] = {"path": "'"$WORK"'/c1/mnt", "readonly": False}
c["annotations"] = {"org.fleet.rootfs.layers": "'"$top:$ROOTFS"'"}
'
[ "$(rt run -b "$b3" o3)" = "$(printf 'top\nrefused')" ] || fail "read-only overlay: $(rt run -b "$b3" o4 2>&1)"
pass "layers without an upper dir give a read-only root"

b4=$(mkbundle ovl4 true)
edit "$b4" 'c["annotations"] = {"org.fleet.rootfs.layers": "/nonexistent-'"$PREFIX"'"}'
set +e; err=$(rt run -b "$b4" o5 2>&1); set -e
echo "$err" | grep -q "layer \`/nonexistent-$PREFIX\`: No such file or directory" || fail "missing layer: $err"
pass "a missing layer names its path"
