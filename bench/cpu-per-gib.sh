#!/usr/bin/env bash
# cpu-per-gib.sh c|m [READS]: CPU-seconds per GiB for warm 1 GiB nbdcopy reads (1 connection) through
# migtunnel without (c) or with (m) --metrics 127.0.0.1:0 on both roles. Per-process CPU
# (/proc/PID/stat utime+stime of both tunnel JVMs and qemu-nbd, bash `time` for nbdcopy): other
# processes are not counted, though contention on a busy machine still inflates the numbers.
# Prints one line per read: tunnel JVMs only, and all four processes. Alternate c and m runs.
set -euo pipefail
[[ ${1:-} == [cm] ]] || { echo "usage: $0 c|m [READS]" >&2; exit 2; }
col=$1 reads=${2:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
w=$(mktemp -d "${TMPDIR:-/tmp}/cpugib.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf -- "$w"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # clock ticks
until_ok() { for _ in $(seq 600); do "$@" && return 0; sleep 0.05; done; echo "timeout: $*" >&2; return 1; }
openssl rand 1073741824 >"$w/src.bin"
fallocate -l 1G "$w/disk.raw"
qemu-nbd -f raw -x disk -t --shared=8 -k "$w/q.sock" "$w/disk.raw" & qpid=$!; pids+=("$qpid")
until_ok test -S "$w/q.sock"
extra=(); if [[ $col == m ]]; then extra=(--metrics 127.0.0.1:0); fi
port=$(( 20000 + RANDOM % 40000 ))
"$repo/bin/migtunnel" destination --listen "127.0.0.1:$port" --route "disk=$w/q.sock" "${extra[@]}" 2>"$w/d.log" & dpid=$!; pids+=("$dpid")
port_up() { ss -Hltn "sport = :$port" | grep -q .; }
until_ok port_up
"$repo/bin/migtunnel" source --connect "127.0.0.1:$port" --expose "disk=$w/m.sock" "${extra[@]}" 2>"$w/s.log" & spid=$!; pids+=("$spid")
until_ok test -S "$w/m.sock"
uri="nbd+unix:///disk?socket=$w/m.sock"
nbdcopy -C 1 -T 1 "$w/src.bin" "$uri"     # fill the image, warms the tunnel
nbdcopy -C 1 -T 1 "$uri" null:            # warm read
TIMEFORMAT='%U %S %R'
for (( i = 1; i <= reads; i++ )); do
    j0=$(( $(cpu "$dpid") + $(cpu "$spid") )); q0=$(cpu "$qpid")
    t=$( { time nbdcopy -C 1 -T 1 "$uri" null: ; } 2>&1 )
    j1=$(( $(cpu "$dpid") + $(cpu "$spid") )); q1=$(cpu "$qpid")
    awk -v tck="$tck" -v col="$col" -v j=$(( j1 - j0 )) -v q=$(( q1 - q0 )) -v t="$t" 'BEGIN {
        split(t, a, " "); n = a[1] + a[2]; jv = j / tck; qv = q / tck
        printf "%s tunnel-JVMs %.2f  all %.2f  CPU-s/GiB  wall %.2f s (%.0f MB/s)\n", col, jv, jv + qv + n, a[3], 1073.741824 / a[3] }'
done
