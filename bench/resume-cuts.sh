#!/usr/bin/env bash
# resume-cuts.sh - what a TCP reset costs a copy through migtunnel: nbdcopy writes a random image
# to qemu-nbd through `migtunnel source` and `destination`, once untouched and once while the
# tunnel's TCP connection is reset N times from outside (`ss -K`), alternating, in one run.
#
# Usage: bench/resume-cuts.sh [--size BYTES] [--rounds N] [--cuts N] [--connections N]
#   --size         image size (default 2G; suffixes K M G)
#   --rounds       rounds of (untouched, cut) pairs (default 3)
#   --cuts         resets per cut copy, spread evenly over the last untouched copy's time (default 3)
#   --connections  NBD connections = tunnel streams (default 4)
# Needs root (ss -K), qemu-nbd, nbdcopy, ss, and bin/migtunnel built (./mvnw -q -DskipTests package).
# Prints a Markdown table on stdout; progress on stderr. Exits non-zero if a copy fails or the
# disk read back differs from the image.
set -euo pipefail

die() { echo "resume-cuts: error: $*" >&2; exit 2; }
log() { echo "resume-cuts: $*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
migtunnel="$repo/bin/migtunnel"
size=2G rounds=3 cuts=3 connections=4
while [[ $# -gt 0 ]]; do
    case $1 in
        --size) size=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --cuts) cuts=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done
bytes=$(numfmt --from=iec "$size")
for p in qemu-nbd nbdcopy ss; do command -v "$p" >/dev/null || die "$p not found"; done
[[ $(id -u) -eq 0 ]] || die "ss -K needs root"
[[ -f $repo/cli/target/migtunnel-cli.jar ]] || die "build first: ./mvnw -q -DskipTests package"

work=$(mktemp -d "${TMPDIR:-/tmp}/resumecuts.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
    rm -rf -- "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { local i; for (( i = 0; i < 300; i++ )); do "$@" && return 0; sleep 0.05; done; return 1; }
logged() { grep -q "$2" "$1" 2>/dev/null; }

log "creating a $size random image in $work"
head -c "$bytes" /dev/urandom >"$work/image.bin"

# One copy through a fresh qemu-nbd and a fresh pair of forwarders; $1 = number of resets.
# Writes to $work/result: seconds outages_ms(comma separated) bytes_resent_by_source bytes_resent_by_destination
copy() {
    local n=$1 port dir start end
    dir=$(mktemp -d "$work/copy.XXXXXX")
    truncate -s "$bytes" "$dir/disk.raw"
    setsid qemu-nbd -f raw -x disk -t -k "$dir/nbd.sock" --shared=8 --cache=unsafe "$dir/disk.raw" \
        >"$dir/qemu-nbd.log" 2>&1 & pids+=($!)
    wait_for test -S "$dir/nbd.sock" || die "qemu-nbd did not start"
    port=$(free_port)
    setsid "$migtunnel" destination --listen "127.0.0.1:$port" --route "disk=$dir/nbd.sock" \
        >"$dir/dst.log" 2>&1 & pids+=($!)
    wait_for logged "$dir/dst.log" ready || die "destination did not start: $(tail -5 "$dir/dst.log")"
    setsid "$migtunnel" source --connect "127.0.0.1:$port" --expose "disk=$dir/exposed.sock" \
        >"$dir/src.log" 2>&1 & pids+=($!)
    wait_for logged "$dir/src.log" ready || die "source did not start: $(tail -5 "$dir/src.log")"
    start=$(date +%s.%N)
    nbdcopy --connections="$connections" --threads="$connections" --flush "$work/image.bin" \
        "nbd+unix:///disk?socket=$dir/exposed.sock" & local copier=$!
    local k made=0
    for (( k = 1; k <= n; k++ )); do
        sleep "$(awk -v t="$baseline" -v n="$n" 'BEGIN { print t / (n + 1) }')"
        kill -0 "$copier" 2>/dev/null || break
        if [[ -n $(ss -K -H -t state established "( sport = :$port or dport = :$port )") ]]; then
            made=$(( made + 1 ))
        fi
    done
    wait "$copier" || die "nbdcopy failed with $n resets: $(tail -5 "$dir/src.log")"
    end=$(date +%s.%N)
    cmp -s "$work/image.bin" "$dir/disk.raw" || die "the disk differs from the image after $n resets"
    local outages resent_src resent_dst
    outages=$( (grep -o 'resumed after [0-9]* ms' "$dir/src.log" || true) | awk '{print $3}' | paste -sd, -)
    resent_src=$( (grep -o '[0-9]* bytes sent again' "$dir/src.log" || true) | awk '{s += $1} END {print s + 0}')
    resent_dst=$( (grep -o '[0-9]* bytes sent again' "$dir/dst.log" || true) | awk '{s += $1} END {print s + 0}')
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
    rm -f "$dir/disk.raw"
    echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') ${outages:--} $resent_src $resent_dst $made" \
        >"$work/result"
}

echo "| round | untouched (s) | with resets (s) | resets | ratio | outage per reset (ms) | bytes sent again: source, destination |"
echo "|---:|---:|---:|---:|---:|---|---:|"
# Even rounds copy with resets first (spaced by the previous untouched time), so that neither kind
# always runs second on a warmer machine.
baseline=0
untouched() { copy 0; read -r t0 _ _ _ _ <"$work/result"; baseline=$t0; }
with_resets() { copy "$cuts"; read -r t1 outages rs rd made <"$work/result"; }
for (( r = 1; r <= rounds; r++ )); do
    if (( r % 2 == 0 )); then
        with_resets
        untouched
    else
        untouched
        with_resets
    fi
    got=$(tr ',' '\n' <<<"$outages" | grep -c '[0-9]' || true)
    [[ $got -eq $made ]] || die "round $r: $got resumes logged for $made resets"
    ratio=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a / b }')
    log "round $r: untouched ${t0}s, with $cuts resets ${t1}s"
    echo "| $r | $t0 | $t1 | $made | $ratio | $outages | $rs, $rd |"
done
