#!/usr/bin/env bash
# Push benchmark: `skopeo copy` of the same ~100 MB multi-layer Debian image (debootstrap
# --variant=minbase bookworm, split into 5 layers with umoci) into Fleet's registry and into
# Debian's docker-registry (the CNCF distribution registry), in the same run, alternating which
# goes first. Every push goes to a fresh, empty registry on a fresh port (so neither skopeo's
# blob-info cache nor earlier pushes let it skip a blob). Prints medians side by side and writes
# them, with this command, to bench/registry/RESULTS.md.
#
#   bench/registry/run.sh            # REPS=7 by default
#   REPS=11 WARMUP=200 bench/registry/run.sh
#   FLEET_ENV=DOTNET_TieredCompilation=0 bench/registry/run.sh   # extra environment for Fleet's host
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
reps=${REPS:-7}
cache=${FLEET_REGISTRY_BENCH_CACHE:-/var/tmp/fleet-registry-bench}
layout="$cache/layout"
image="$layout:bookworm"

"$repo/scripts/deps" skopeo umoci docker-registry debootstrap curl busybox-static

# --- the image, built once and cached ------------------------------------------------------
if [ ! -f "$cache/layout.done" ]; then
  echo "building the benchmark image in $cache (once; debootstrap takes about a minute)"
  mkdir -p "$cache"
  if [ ! -d "$cache/rootfs" ]; then
    rm -rf "$cache/rootfs.partial"
    debootstrap --variant=minbase bookworm "$cache/rootfs.partial" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1
    mv "$cache/rootfs.partial" "$cache/rootfs"
  fi
  rm -rf "$layout" "$cache/bundle"
  umoci init --layout "$layout"
  umoci new --image "$image"
  umoci unpack --image "$image" "$cache/bundle" >/dev/null
  src="$cache/rootfs" dst="$cache/bundle/rootfs"
  # Layer 1: everything but /usr and the .deb cache; then /usr/lib; the rest of /usr but share;
  # /usr/share; the .debs debootstrap leaves in /var/cache/apt/archives (already compressed).
  (cd "$src" && tar --exclude=./usr --exclude=./var/cache/apt/archives -cf - .) | tar -C "$dst" -xf -
  umoci repack --refresh-bundle --image "$image" "$cache/bundle"
  mkdir -p "$dst/usr"
  cp -a "$src/usr/lib" "$dst/usr/"
  umoci repack --refresh-bundle --image "$image" "$cache/bundle"
  for d in "$src"/usr/*; do
    case "$(basename "$d")" in lib|share) ;; *) cp -a "$d" "$dst/usr/" ;; esac
  done
  umoci repack --refresh-bundle --image "$image" "$cache/bundle"
  cp -a "$src/usr/share" "$dst/usr/"
  umoci repack --refresh-bundle --image "$image" "$cache/bundle"
  mkdir -p "$dst/var/cache/apt"
  cp -a "$src/var/cache/apt/archives" "$dst/var/cache/apt/"
  umoci repack --refresh-bundle --image "$image" "$cache/bundle"
  umoci config --image "$image" --config.cmd /bin/bash
  umoci gc --layout "$layout"
  rm -rf "$cache/bundle"
  touch "$cache/layout.done"
fi
# A tiny busybox image pushed (to another repository) after warm_up and before each timed
# push, so the manifest path is warm too.
warmup="$cache/warmup"
if [ ! -f "$cache/warmup.done" ]; then
  rm -rf "$warmup" "$cache/warmup-bundle"
  umoci init --layout "$warmup"
  umoci new --image "$warmup:w"
  umoci unpack --image "$warmup:w" "$cache/warmup-bundle" >/dev/null
  mkdir -p "$cache/warmup-bundle/rootfs/bin"
  cp /bin/busybox "$cache/warmup-bundle/rootfs/bin/"
  umoci repack --refresh-bundle --image "$warmup:w" "$cache/warmup-bundle"
  echo warm >"$cache/warmup-bundle/rootfs/warm"
  umoci repack --refresh-bundle --image "$warmup:w" "$cache/warmup-bundle"
  rm -rf "$cache/warmup-bundle"
  touch "$cache/warmup.done"
fi
image_bytes=$(du -sb "$layout/blobs" | cut -f1)
layers=$(skopeo inspect --raw "oci:$image" | grep -o '"application/vnd.oci.image.layer[^"]*"' | wc -l)

# --- the two registries --------------------------------------------------------------------
dotnet build -c Release -v q -nologo "$here/host/Fleet.Registry.BenchHost.csproj" >/dev/null
fleet_host="$here/host/bin/Release/net10.0/fleet-registry"

work=$(mktemp -d /tmp/fleet-registry-bench.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
next_port() {
  while :; do
    port=$((port + 1))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
  done
}

start_server() { # kind dir port
  case "$1" in
    fleet)
      env ${FLEET_ENV:-} "$fleet_host" "$2" "$3" >"$2.log" 2>&1 &
      ;;
    distribution)
      mkdir -p "$2"
      cat >"$2.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $2 }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$3 }
YAML
      docker-registry serve "$2.yml" >"$2.log" 2>&1 &
      ;;
  esac
  server_pid=$!
  for _ in $(seq 1 200); do
    if curl -fs "http://127.0.0.1:$3/v2/" >/dev/null 2>&1; then return; fi
    sleep 0.05
  done
  echo "error: $1 registry did not start on port $3:" >&2; cat "$2.log" >&2; exit 1
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

push_once() { # kind run -> prints milliseconds
  local dir="$work/$1-$2"
  next_port
  start_server "$1" "$dir" "$port"
  warm_up "$port"
  skopeo copy -q --dest-tls-verify=false "oci:$warmup:w" "docker://127.0.0.1:$port/warmup/busybox:$2" >/dev/null
  local t0 t1 c0 c1
  c0=$(cpu_ticks "$server_pid")
  t0=$(date +%s%N)
  skopeo copy -q --dest-tls-verify=false "oci:$image" "docker://127.0.0.1:$port/bench/debian:$2" >/dev/null
  t1=$(date +%s%N)
  c1=$(cpu_ticks "$server_pid")
  # The pushed manifest must be the image's, byte for byte (same digest).
  local want got
  want=$(skopeo inspect --raw "oci:$image" | sha256sum | cut -d' ' -f1)
  got=$(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/bench/debian/manifests/$2" | sha256sum | cut -d' ' -f1)
  [ "$want" = "$got" ] || { echo "error: $1 served a different manifest ($got, want $want)" >&2; exit 1; }
  stop_server
  rm -rf "$dir"
  echo "$(( (t1 - t0) / 1000000 )) $(( (c1 - c0) * 1000 / ticks ))"
}

ticks=$(getconf CLK_TCK)
# cpu_ticks: user + system CPU time of a process so far (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# warm_up: WARMUP (100) uploads of 2 MiB (HEAD, POST, PATCH, PUT — the calls skopeo makes per
# blob), so the timed push meets a registry that has served uploads before, as a long-running one
# has (for .NET: the upload path is past tiered JIT compilation). Half the PATCHes carry a
# Content-Length, as skopeo's do, half use chunked transfer encoding (each is its own body-reading
# code path in a server). Both registries get it.
warm_up() {
  local base="http://127.0.0.1:$1" blob="$work/warm.bin" digest loc i encoding
  for i in $(seq 1 "${WARMUP:-100}"); do
    if ((i % 2)); then encoding=(-H 'Transfer-Encoding: chunked'); else encoding=(); fi
    head -c 2097152 /dev/urandom >"$blob"
    digest="sha256:$(sha256sum "$blob" | cut -d' ' -f1)"
    curl -fs -o /dev/null -I "$base/v2/warmup/blobs/$digest" || true
    loc=$(curl -fs -D - -o /dev/null -X POST "$base/v2/warmup/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
    case "$loc" in http*) ;; *) loc="$base$loc" ;; esac
    loc=$(curl -fs -D - -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' "${encoding[@]}" -T "$blob" "$loc" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
    case "$loc" in http*) ;; *) loc="$base$loc" ;; esac
    case "$loc" in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
    curl -fs -o /dev/null -X PUT "$loc"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

echo "image: $image ($((image_bytes / 1048576)) MiB of blobs, $layers layers); $reps repetitions each, plus one warm-up"
push_once fleet warmup >/dev/null
push_once distribution warmup >/dev/null
fleet_ms=() dist_ms=() fleet_cpu=() dist_cpu=()
for i in $(seq 1 "$reps"); do
  if ((i % 2)); then
    read -r f fc < <(push_once fleet "r$i"); read -r d dc < <(push_once distribution "r$i")
  else
    read -r d dc < <(push_once distribution "r$i"); read -r f fc < <(push_once fleet "r$i")
  fi
  fleet_ms+=("$f"); dist_ms+=("$d"); fleet_cpu+=("$fc"); dist_cpu+=("$dc")
  printf 'run %2d  fleet %6d ms (server CPU %5d ms)   docker-registry %6d ms (server CPU %5d ms)\n' "$i" "$f" "$fc" "$d" "$dc"
done
fm=$(printf '%s\n' "${fleet_ms[@]}" | median)
dm=$(printf '%s\n' "${dist_ms[@]}" | median)
fcm=$(printf '%s\n' "${fleet_cpu[@]}" | median)
dcm=$(printf '%s\n' "${dist_cpu[@]}" | median)
ratio=$(awk -v f="$fm" -v d="$dm" 'BEGIN {printf "%.2f", f / d}')
cpu_ratio=$(awk -v f="$fcm" -v d="$dcm" 'BEGIN {printf "%.2f", f / d}')
printf '\nmedian  fleet %6d ms (server CPU %5d ms)   docker-registry %6d ms (server CPU %5d ms)\n' "$fm" "$fcm" "$dm" "$dcm"
printf 'fleet/docker-registry: push time %s, server CPU %s\n' "$ratio" "$cpu_ratio"
load=$(cut -d' ' -f1-3 /proc/loadavg)

dist_version=$(dpkg-query -W -f='${Version}' docker-registry)
skopeo_version=$(dpkg-query -W -f='${Version}' skopeo)
cat >"$here/RESULTS.md" <<MD
# Registry push benchmark

\`skopeo copy --dest-tls-verify=false oci:LAYOUT:bookworm docker://127.0.0.1:PORT/bench/debian:TAG\`
into Fleet's registry (\`bench/registry/host\`, Release build, Kestrel, content store on disk)
and into Debian's \`docker-registry\` $dist_version (filesystem storage), same run, each push into
a fresh empty registry on a fresh port, order alternating; skopeo $skopeo_version.

Image: \`debootstrap --variant=minbase bookworm\` split by umoci into $layers gzip layers,
$((image_bytes / 1048576)) MiB of blobs (the .debs debootstrap leaves in /var/cache/apt/archives
are one layer). Machine: $(nproc) vCPUs, $(uname -r).

Command: \`bench/registry/run.sh\` (REPS=$reps), run $(date -u +%Y-%m-%dT%H:%MZ).

| registry | median push, wall (ms) | median server CPU (ms) | push runs (ms) | server CPU runs (ms) |
|---|---|---|---|---|
| Fleet | $fm | $fcm | ${fleet_ms[*]} | ${fleet_cpu[*]} |
| docker-registry | $dm | $dcm | ${dist_ms[*]} | ${dist_cpu[*]} |

Fleet / docker-registry: push time **$ratio** (target: ≤ 1.0, at least as fast), server CPU
**$cpu_ratio**. Wall time is skopeo's whole copy (HEAD, POST, PATCH, PUT per blob, then the
manifest); server CPU is user + system time of the registry process during the push only
(/proc/PID/stat), which a busy machine disturbs less. Load average at the end: $load.

Both registries get the same warm-up before each timed push (WARMUP=${WARMUP:-100} 2 MiB uploads
by curl, half with Content-Length like skopeo's, half chunked, then a small busybox image by
skopeo), so a long-running registry is measured, not a cold one. The Fleet host runs with fleetd's
GC settings (workstation, non-concurrent). Durability is alike: both fsync what they store before
answering (strace of one push here: Fleet 21 fsyncs — session record, blob data, repository link
per blob, then manifest and tag — docker-registry 104, its upload data, hash states, start times
and links). Both hash every byte once (SHA-256 in software: this CPU has no SHA extensions) and
copy it twice in the kernel (socket in, file out); Fleet hashes and writes Kestrel's request-pipe
segments in place (no copy of its own). What remains against Fleet is CPU: .NET's runtime and
Kestrel's request pipeline, and JIT tiering that a short warm-up cannot finish
(\`FLEET_ENV=DOTNET_TieredCompilation=0 bench/registry/run.sh\` shows how much).
MD
echo "wrote $here/RESULTS.md"
