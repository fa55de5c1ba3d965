#!/usr/bin/env bash
# The tunnel alone, without the orchestration: start a destination and a source on this machine, copy a
# random 256 MiB disk image through the tunnel into qemu-nbd with nbdcopy, read it back and
# verify it byte for byte.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size=${DEMO_SIZE:-256M}

need=()
for bin in qemu-nbd:qemu-utils qemu-img:qemu-utils nbdcopy:libnbd-bin java:openjdk-17-jdk-headless; do
  command -v "${bin%%:*}" >/dev/null 2>&1 || need+=("${bin##*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "demo: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "demo: missing packages; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

if [[ ! -f "$here/cli/target/migtunnel-cli.jar" ]]; then
  echo "demo: building (./mvnw -q -DskipTests package)"
  (cd "$here" && ./mvnw -B -q -DskipTests package)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 47444)
qemu-img create -q -f raw "$work/disk.img" "$size"
head -c "$size" /dev/urandom > "$work/data.bin" 2>/dev/null || true
qemu-nbd -f raw -x disk -t --shared=8 -k "$work/nbd.sock" "$work/disk.img" & pids+=($!)
"$here/bin/migtunnel" destination --listen "127.0.0.1:$port" --route disk="$work/nbd.sock" & pids+=($!)
for _ in $(seq 1 100); do [[ -S "$work/nbd.sock" ]] && break; sleep 0.1; done
# The source creates its exposed socket only once the tunnel session is up.
for _ in $(seq 1 100); do
  "$here/bin/migtunnel" source --connect "127.0.0.1:$port" --expose disk="$work/exposed.sock" & src=$!
  for _ in $(seq 1 100); do [[ -S "$work/exposed.sock" ]] && break; kill -0 $src 2>/dev/null || break; sleep 0.1; done
  [[ -S "$work/exposed.sock" ]] && { pids+=($src); break; }
  sleep 0.2
done
uri="nbd+unix:///disk?socket=$work/exposed.sock"
bytes=$(stat -c %s "$work/data.bin")

t0=$(date +%s.%N); nbdcopy "$work/data.bin" "$uri"; t1=$(date +%s.%N)
nbdcopy "$uri" "$work/back.bin"; t2=$(date +%s.%N)
rate() { awk -v b="$bytes" -v a="$1" -v z="$2" 'BEGIN { printf "%.0f MB/s", b / (z - a) / 1e6 }'; }
echo "demo: wrote $bytes bytes through the tunnel at $(rate "$t0" "$t1"), read them back at $(rate "$t1" "$t2")"
if cmp -s "$work/data.bin" "$work/back.bin"; then
  echo "demo: OK, the disk read back through the tunnel is identical to what was written"
else
  echo "demo: FAILED, the read-back differs" >&2
  exit 1
fi
