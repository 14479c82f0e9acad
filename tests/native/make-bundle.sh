#!/bin/sh
# make-bundle.sh DIR [ARG...] — an OCI bundle with a busybox-static rootfs in DIR, made with
# `runc spec` (readonly root, runc's masked/readonly paths, hostname "runc") and process.args
# set to ARG... (default /bin/true). Applet links are relative so they resolve in the rootfs.
set -eu
dir=$1
shift
[ $# -gt 0 ] || set -- /bin/true
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
         "$dir/rootfs/tmp" "$dir/rootfs/etc" "$dir/rootfs/root"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
rm -f "$dir/config.json"
(cd "$dir" && runc spec)
/usr/bin/python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
c["process"]["args"] = args
c["process"]["terminal"] = False
json.dump(c, open(path, "w"), indent=1)
PY
