#!/usr/bin/env bash
# Image pull benchmark, one command: bench/images/run.sh   (RUNS=N to change the run count)
#
# Cold pull + unpack of a ~100 MB (compressed) three-layer Debian bookworm image (debootstrap
# minbase, layered with umoci) from Debian's docker-registry on loopback:
#   Fleet (bench/images/FleetPull)  vs  containerd `ctr images pull`  vs  `podman pull`
# and download only:
#   Fleet --download-only           vs  `skopeo copy docker://… oci:DIR`
# Every tool starts from an empty store for every run. Medians and ratios go to stdout and to
# bench/images/RESULTS.md. The built image is cached under /var/tmp/fleet-bench between runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=${RUNS:-5}
cache=${FLEET_BENCH_CACHE:-/var/tmp/fleet-bench}

"$repo/scripts/deps" docker-registry skopeo umoci docker.io podman debootstrap python3 curl time gcc zlib1g-dev

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is missing: apt-get install -y $2" >&2; exit 1; }; }
need docker-registry docker-registry
need skopeo skopeo
need umoci umoci
need containerd docker.io
need ctr docker.io
need podman podman
need debootstrap debootstrap
need python3 python3
need curl curl
need /usr/bin/time time
need dotnet "the .NET 10 SDK"

work=$(mktemp -d /var/tmp/fleet-bench-run.XXXXXX)
pids=()

unmount_under() {
  # Deepest first; containerd and podman may leave overlay or bind mounts in their roots.
  local m
  for m in $(findmnt -rn -o TARGET | grep "^$1" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}

stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p not in (4050, 4051, 4053): print(p); break'
}

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
# timed CMD…: sets $wall (s) and $cpu (user+sys s of CMD and its children) for one run.
timed() {
  local s e
  s=$(now); /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null; e=$(now)
  wall=$(elapsed "$s" "$e")
  cpu=$(python3 -c "u, s = open('$work/cpu').read().split()[-2:]; print(f'{float(u) + float(s):.2f}')")
}
# proc_cpu PID: user+sys seconds a running process (the containerd daemon) has used.
proc_cpu() { python3 -c "import os; f = open('/proc/$1/stat').read().rsplit(')', 1)[1].split(); print((int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'))"; }

# 1. The image: debootstrap once, then three umoci layers (base system, /usr/share, /var/cache).
if [ ! -f "$cache/layout/index.json" ]; then
  mkdir -p "$cache"
  if [ ! -d "$cache/rootfs/usr" ]; then
    echo "debootstrap --variant=minbase bookworm (once, about a minute)…"
    rm -rf "$cache/rootfs.tmp"
    debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" >"$cache/debootstrap.log" 2>&1
    mv "$cache/rootfs.tmp" "$cache/rootfs"
  fi
  echo "layering the image with umoci (once)…"
  L="$cache/layout.tmp"; B="$cache/bundle"
  rm -rf "$L" "$B"
  umoci init --layout "$L"
  umoci new --image "$L:bookworm"
  umoci unpack --image "$L:bookworm" "$B"
  # Like every image builder, no device nodes from /dev (Fleet refuses them in layers).
  tar -C "$cache/rootfs" --exclude=./usr/share --exclude=./var/cache --exclude='./dev/*' -cf - . | tar -C "$B/rootfs" -xpf -
  umoci repack --refresh-bundle --image "$L:bookworm" "$B"
  tar -C "$cache/rootfs" -cf - ./usr/share | tar -C "$B/rootfs" -xpf -
  umoci repack --refresh-bundle --image "$L:bookworm" "$B"
  tar -C "$cache/rootfs" -cf - ./var/cache | tar -C "$B/rootfs" -xpf -
  umoci repack --refresh-bundle --image "$L:bookworm" "$B"
  umoci config --image "$L:bookworm" --config.cmd /bin/bash
  rm -rf "$B"
  mv "$L" "$cache/layout"
fi

# 2. Fleet's side, published in Release as a Native AOT binary (ILCompiler from NuGet, gcc links it).
dotnet publish -c Release -v q -nologo -o "$work/fleet-pull" "$here/FleetPull/FleetPull.csproj" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
fleet="$work/fleet-pull/FleetPull"

# 3. docker-registry on a free loopback port, with its own config (Debian's stock one is broken).
port=$(free_port)
cat >"$work/registry.yml" <<YAML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/registry }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
ref="127.0.0.1:$port/bench/debian:bookworm"
skopeo copy --quiet --dest-tls-verify=false "oci:$cache/layout:bookworm" "docker://$ref"
manifest=$(skopeo inspect --raw --tls-verify=false "docker://$ref")
size=$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(sum(l["size"] for l in m["layers"]))' "$manifest")
layers=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["layers"]))' "$manifest")
echo "image: $ref, $layers layers, $((size / 1000000)) MB compressed; $runs cold runs each"

# 4. The runs.
fleet_pull=(); ctr_pull=(); podman_pull=(); fleet_fetch=(); skopeo_fetch=()
fleet_pull_cpu=(); ctr_pull_cpu=(); podman_pull_cpu=(); fleet_fetch_cpu=(); skopeo_fetch_cpu=()

# Every run of every tool gets its own new directories, and nothing is deleted until all runs are
# over: right after many files are deleted, ext4 allocates new inodes slowly (ialloc skips and
# re-checks each recently deleted inode; perf showed recently_deleted + find_get_block_common as
# over a third of a pull's CPU), which would tax whichever tool runs after a deletion.
export CONTAINERS_REGISTRIES_CONF="$work/registries.conf"
printf 'unqualified-search-registries = []\n' >"$CONTAINERS_REGISTRIES_CONF"

start_containerd() {
  local c=$1
  mkdir -p "$c"
  cat >"$c/config.toml" <<TOML
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/sock"
TOML
  containerd --config "$c/config.toml" >"$work/containerd.log" 2>&1 &
  containerd_pid=$!
  pids+=("$containerd_pid")
  for _ in $(seq 1 100); do ctr -a "$c/sock" version >/dev/null 2>&1 && return; sleep 0.1; done
  echo "containerd did not start: $(tail -5 "$work/containerd.log")" >&2; exit 1
}

for i in $(seq 1 "$runs"); do
  timed "$fleet" --store "$work/fleet-$i" "$ref"
  fleet_pull+=("$wall"); fleet_pull_cpu+=("$cpu")

  start_containerd "$work/containerd-$i"
  before=$(proc_cpu "$containerd_pid")
  timed ctr -a "$work/containerd-$i/sock" -n bench images pull --plain-http "$ref"
  after=$(proc_cpu "$containerd_pid")
  ctr_pull+=("$wall"); ctr_pull_cpu+=("$(python3 -c "print(f'{$cpu + $after - $before:.2f}')")")
  stop_pid "$containerd_pid"
  unmount_under "$work/containerd-$i"

  podman_cmd=(podman --root "$work/podman-$i/root" --runroot "$work/podman-$i/run" --tmpdir "$work/podman-$i/tmp"
    --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
  mkdir -p "$work/podman-$i/tmp"
  timed "${podman_cmd[@]}" pull -q --tls-verify=false "$ref"
  podman_pull+=("$wall"); podman_pull_cpu+=("$cpu")
  unmount_under "$work/podman-$i"

  timed "$fleet" --store "$work/fleet-fetch-$i" --download-only "$ref"
  fleet_fetch+=("$wall"); fleet_fetch_cpu+=("$cpu")

  timed skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-$i:t"
  skopeo_fetch+=("$wall"); skopeo_fetch_cpu+=("$cpu")

  echo "run $i (wall/cpu s): fleet ${fleet_pull[-1]}/${fleet_pull_cpu[-1]}, ctr ${ctr_pull[-1]}/${ctr_pull_cpu[-1]}, podman ${podman_pull[-1]}/${podman_pull_cpu[-1]} | download: fleet ${fleet_fetch[-1]}/${fleet_fetch_cpu[-1]}, skopeo ${skopeo_fetch[-1]}/${skopeo_fetch_cpu[-1]}"
done

# The agent's shape: fleetd pulls in a process that is already running (as containerd does for
# ctr), so the same pulls are also measured in one warm process, each into a new empty store.
mapfile -t warm_pull < <("$fleet" --store "$work/warm-pull" --warm-runs "$runs" "$ref")
mapfile -t warm_fetch < <("$fleet" --store "$work/warm-fetch" --download-only --warm-runs "$runs" "$ref")
echo "warm fleet pull+unpack (wall cpu): ${warm_pull[*]}"
echo "warm fleet download (wall cpu): ${warm_fetch[*]}"
wpw=$(median $(printf '%s\n' "${warm_pull[@]}" | cut -d' ' -f1)); wpc=$(median $(printf '%s\n' "${warm_pull[@]}" | cut -d' ' -f2))
wfw=$(median $(printf '%s\n' "${warm_fetch[@]}" | cut -d' ' -f1)); wfc=$(median $(printf '%s\n' "${warm_fetch[@]}" | cut -d' ' -f2))

# Sanity: Fleet's snapshots hold the image (bash is in the base layer, the docs in /usr/share).
snapshot_count=$(find "$work/fleet-$runs/snapshots" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$snapshot_count" -eq "$layers" ] || { echo "error: Fleet made $snapshot_count snapshots for $layers layers" >&2; exit 1; }

mf=$(median "${fleet_pull[@]}"); mc=$(median "${ctr_pull[@]}"); mp=$(median "${podman_pull[@]}")
mff=$(median "${fleet_fetch[@]}"); ms=$(median "${skopeo_fetch[@]}")
cf=$(median "${fleet_pull_cpu[@]}"); cc=$(median "${ctr_pull_cpu[@]}"); cp=$(median "${podman_pull_cpu[@]}")
cff=$(median "${fleet_fetch_cpu[@]}"); cs=$(median "${skopeo_fetch_cpu[@]}")
table="| measurement | median wall (s) | Fleet ÷ peer (wall) | median CPU user+sys (s) | Fleet ÷ peer (CPU) |
|---|---|---|---|---|
| Fleet pull + unpack, new process per pull | $mf | | $cf | |
| containerd \`ctr images pull\` (unpacks; CPU incl. the daemon) | $mc | $(ratio "$mf" "$mc") (target ≤ 0.5) | $cc | $(ratio "$cf" "$cc") |
| \`podman pull\` (unpacks) | $mp | $(ratio "$mf" "$mp") | $cp | $(ratio "$cf" "$cp") |
| Fleet pull + unpack, warm process (fleetd's shape) | $wpw | vs ctr $(ratio "$wpw" "$mc"), vs podman $(ratio "$wpw" "$mp") | $wpc | vs ctr $(ratio "$wpc" "$cc") |
| Fleet download only | $mff | | $cff | |
| Fleet download only, warm process | $wfw | vs skopeo $(ratio "$wfw" "$ms") | $wfc | vs skopeo $(ratio "$wfc" "$cs") |
| \`skopeo copy\` to an OCI dir | $ms | $(ratio "$mff" "$ms") (target ≤ 1.0) | $cs | $(ratio "$cff" "$cs") |"
echo
echo "$table"

cat >"$here/RESULTS.md" <<MD
# Image pull benchmark — results

Command: \`bench/images/run.sh\` (RUNS=$runs), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, Linux $(uname -r).

Image: Debian bookworm minbase (debootstrap) in $layers umoci layers (base system, /usr/share,
/var/cache), $((size / 1000000)) MB compressed, served by docker-registry $(docker-registry --version | awk '{print $3}') on loopback.
Every run starts from an empty store in a new directory, and nothing is deleted until all runs
are over (ext4 creates inodes slowly right after mass deletions; see run.sh). Load while measured (1/5/15-min load average over
$(nproc) CPUs): $(cut -d' ' -f1-3 /proc/loadavg) — wall times on a shared, loaded machine are noisy, which is why
CPU time (user+sys of the tool, plus the containerd daemon for ctr) is reported beside them. Peers: containerd $(containerd --version | awk '{print $3}'), podman $(podman --version | awk '{print $3}'), skopeo $(skopeo --version | awk '{print $3}').

$table

"New process" rows start \`FleetPull\` (a Native AOT binary, bench/images/FleetPull) per pull, like the CLI peers; "warm process"
rows pull $runs times in one process after a warm-up pull, each into a new empty store — the
way fleetd's agent pulls, and the way containerd (already running) serves \`ctr pull\`.

Raw runs (s): Fleet $(echo "${fleet_pull[@]}"); ctr $(echo "${ctr_pull[@]}"); podman $(echo "${podman_pull[@]}");
Fleet download $(echo "${fleet_fetch[@]}"); skopeo $(echo "${skopeo_fetch[@]}");
warm Fleet pull (wall/cpu) $(printf '%s ' "${warm_pull[@]/ //}"); warm Fleet download (wall/cpu) $(printf '%s ' "${warm_fetch[@]/ //}").
MD
echo
echo "wrote $here/RESULTS.md"
