#!/usr/bin/env bash
# latency-under-load.sh - request/response latency while bulk streams saturate the same path
# (issue 11): migtunnel (every stream one stream of ONE tunnel connection) vs socat relays (one TCP
# connection per stream), optionally vs ssh -L (one OpenSSH connection) and direct UNIX sockets.
#
# A client sends S bytes over a UNIX socket and waits for the echo of the same S bytes from an
# echo server at the far end, and checks them; while N bulk clients write as fast as they can to
# a sink at the far end (N = 0: idle). Both ends are bench/latency-under-load/latload.c (built
# with gcc into the work dir), timed with clock_gettime(CLOCK_MONOTONIC). The tunnels run for the
# whole benchmark; the cells (path, S, N) are interleaved and the whole set is repeated --rounds
# times, so that every path sees the same noise. Prints Markdown tables on stdout (p50, p99,
# p99.9 round trip in µs and bulk MB/s per cell; migtunnel/socat ratios against the issue's
# targets); progress on stderr. See bench/README.md.

set -euo pipefail

usage() {
    cat <<EOF
Usage: $0 [options]

  --duration SEC       length of each loaded cell's measurement window (default 5)
  --rounds R           repeat the whole interleaved set of cells R times (default 2)
  --sizes "S..."       request (= echo) sizes in bytes (default "64 4096")
  --bulk "N..."        bulk stream counts; 0 = idle (default "0 1 2 4")
  --idle-rts K         timed round trips per idle cell (default 20000)
  --idle-chunks C      run each idle cell as C runs of K/C round trips (each after 500 untimed),
                       alternating with the other paths' runs (default 4)
  --ramp SEC           loaded cells: untimed time with the bulk streams running before the
                       window (default 0.5)
  --warmup SEC         per path before round 1: one untimed loaded cell of SEC seconds and
                       5000 idle round trips, so the JVMs are warm (default 2; 0 = none)
  --with-ssh           also ssh -L: one OpenSSH connection (aes128-gcm@openssh.com) to a
                       throwaway loopback sshd, one -L forward per name (needs root; installs
                       openssh-server with apt-get if /usr/sbin/sshd is missing)
  --no-direct          leave out the reference path "direct" (client connects to the echo
                       server's socket itself; idle cells only)
  --variant "OPTS"     also a second migtunnel pair with OPTS appended (after MIGTUNNEL_OPTS), as
                       its own path in the same run, e.g. --variant "--urgent-pipe-limit 0"
                       (repeatable: one path per variant); words starting with -D or -XX are
                       JVM options of that pair (added to JAVA_OPTS)
  --migtunnel CMD      migtunnel command (default: a copy of <repo>/bin/migtunnel and its jars,
                       taken at start, so a rebuild during the run changes nothing)
  --samples-dir DIR    keep every cell's round trips there (ns, one per line)
  --startup-timeout SEC  deadline for a path to come up (default 60)
  -h, --help           this help

Environment:
  MIGTUNNEL_OPTS  extra arguments appended to both migtunnel commands
  JAVA_OPTS       passed through to bin/migtunnel
  TMPDIR          where the work directory is created (default /tmp)

Exit status: 2 if a path does not come up (or bad usage), 1 if a cell failed: a round trip
returned wrong bytes, the sinks did not receive exactly what the bulk clients wrote, or a path
stopped working.
EOF
}

die() { echo "latency-under-load: error: $*" >&2; exit 2; }
log() { echo "latency-under-load: $*" >&2; }

# ---------------------------------------------------------------- arguments

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

shell_quote() {
    if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then printf '%s' "$1"; else printf '%q' "$1"; fi
}
cmdline=$(shell_quote "$0")
for arg in "$@"; do cmdline+=" $(shell_quote "$arg")"; done

duration=5
rounds=2
sizes="64 4096"
bulk_counts="0 1 2 4"
idle_rts=20000
idle_chunks=4
ramp=0.5
warmup=2
with_ssh=0
with_direct=1
migtunnel=
declare -a variants=()
samples_dir=
startup_timeout=60

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs an argument"; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration)        need_arg "$@"; duration=$2; shift 2 ;;
        --rounds)          need_arg "$@"; rounds=$2; shift 2 ;;
        --sizes)           need_arg "$@"; sizes=$2; shift 2 ;;
        --bulk)            need_arg "$@"; bulk_counts=$2; shift 2 ;;
        --idle-rts)        need_arg "$@"; idle_rts=$2; shift 2 ;;
        --idle-chunks)     need_arg "$@"; idle_chunks=$2; shift 2 ;;
        --ramp)            need_arg "$@"; ramp=$2; shift 2 ;;
        --warmup)          need_arg "$@"; warmup=$2; shift 2 ;;
        --with-ssh)        with_ssh=1; shift ;;
        --no-direct)       with_direct=0; shift ;;
        --migtunnel)       need_arg "$@"; migtunnel=$2; shift 2 ;;
        --variant)         need_arg "$@"; variants+=("$2"); shift 2 ;;
        --samples-dir)     need_arg "$@"; samples_dir=$2; shift 2 ;;
        --startup-timeout) need_arg "$@"; startup_timeout=$2; shift 2 ;;
        --*=*)             opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@" ;;
        -h|--help)         usage; exit 0 ;;
        *)                 usage >&2; die "unknown argument: $1" ;;
    esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
is_num "$duration" && awk -v d="$duration" 'BEGIN { exit !(d > 0) }' || die "--duration must be a number > 0"
is_num "$ramp" || die "--ramp must be a number >= 0"
is_num "$warmup" || die "--warmup must be a number >= 0"
{ is_uint "$rounds" && (( rounds >= 1 )); } || die "--rounds must be an integer >= 1"
{ is_uint "$idle_chunks" && (( idle_chunks >= 1 )); } || die "--idle-chunks must be an integer >= 1"
{ is_uint "$idle_rts" && (( idle_rts >= 100 * idle_chunks )); } || die "--idle-rts must be an integer >= 100 × --idle-chunks"
{ is_uint "$startup_timeout" && (( startup_timeout >= 1 )); } || die "--startup-timeout must be an integer >= 1"
read -ra size_list <<<"$sizes"
read -ra bulk_list <<<"$bulk_counts"
(( ${#size_list[@]} > 0 )) || die "--sizes is empty"
(( ${#bulk_list[@]} > 0 )) || die "--bulk is empty"
for s in "${size_list[@]}"; do { is_uint "$s" && (( s >= 1 && s <= 16777216 )); } || die "--sizes: bad size '$s'"; done
for n in "${bulk_list[@]}"; do { is_uint "$n" && (( n <= 64 )); } || die "--bulk: bad count '$n' (0..64)"; done

read -ra migtunnel_opts <<<"${MIGTUNNEL_OPTS:-}"

for tool in gcc socat awk setsid timeout; do
    command -v "$tool" >/dev/null || die "$tool not found in PATH"
done

sshd_bin=/usr/sbin/sshd
if (( with_ssh )); then
    if [[ ! -x $sshd_bin ]]; then
        command -v apt-get >/dev/null || die "$sshd_bin missing and no apt-get to install openssh-server"
        log "$sshd_bin missing: installing openssh-server"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >&2; then
            apt-get update -q >&2 || die "apt-get update failed"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >&2 \
                || die "apt-get install openssh-server failed"
        fi
        [[ -x $sshd_bin ]] || die "$sshd_bin still missing after installing openssh-server"
    fi
    for tool in ssh ssh-keygen; do command -v "$tool" >/dev/null || die "$tool not found (needed for --with-ssh)"; done
    if [[ ! -d /run/sshd ]]; then mkdir -m 0755 /run/sshd || die "cannot create /run/sshd"; fi
fi

# ---------------------------------------------------------------- processes

workdir=
declare -a bg_pids=()
bg_pid=
start_bg() {   # start_bg LOGFILE CMD...: own process group, so the whole group can be stopped
    local logfile=$1; shift
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    bg_pid=$!
    bg_pids+=("$bg_pid")
}

stop_pids() {
    local p i alive
    [[ $# -gt 0 ]] || return 0
    for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
    for (( i = 0; i < 50; i++ )); do
        alive=0
        for p in "$@"; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
        (( alive )) || break
        sleep 0.1
    done
    for p in "$@"; do
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
        { wait "$p"; } 2>/dev/null || true
    done
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [[ ${#bg_pids[@]} -gt 0 ]]; then stop_pids "${bg_pids[@]}"; fi
    if [[ -n $workdir && -d $workdir ]]; then rm -rf -- "$workdir"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

wait_for() {   # wait_for DESCRIPTION PID TEST...: until TEST succeeds, PID dies or the deadline
    local what=$1 pid=$2; shift 2
    local deadline=$(( $(date +%s) + startup_timeout ))
    until "$@"; do
        if ! kill -0 "$pid" 2>/dev/null; then log "$what: process $pid exited before it was ready"; return 1; fi
        if (( $(date +%s) >= deadline )); then log "$what: not ready after ${startup_timeout}s"; return 1; fi
        sleep 0.05
    done
}
# shellcheck disable=SC2317  # invoked via wait_for
is_socket() { [[ -S $1 ]]; }
# shellcheck disable=SC2317
logged() { grep -q -- "$2" "$1" 2>/dev/null; }
tcp_listening() {
    if command -v ss >/dev/null; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
pick_port() {
    local p i
    for (( i = 0; i < 200; i++ )); do
        p=$(( 20000 + RANDOM % 40000 ))
        if ! tcp_listening "$p"; then echo "$p"; return 0; fi
    done
    die "no free TCP port found"
}
dump_logs() {   # dump_logs GLOB-PREFIX
    local f
    for f in "$workdir"/$1*.log; do
        [[ -s $f ]] || continue
        echo "----- ${f##*/} (last 20 lines) -----" >&2
        tail -n 20 "$f" >&2
    done
}

# ---------------------------------------------------------------- setup

load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
workdir=$(mktemp -d "${TMPDIR:-/tmp}/latload.XXXXXX")
log "work dir $workdir"
gcc -O2 -pthread -o "$workdir/latload" "$script_dir/latency-under-load/latload.c" -lm \
    || die "cannot build latency-under-load/latload.c"
latload=$workdir/latload
target_rr=$workdir/target-rr.sock
target_bulk=$workdir/target-bulk.sock
mkdir "$workdir/samples"
if [[ -n $samples_dir ]]; then mkdir -p -- "$samples_dir" || die "cannot create $samples_dir"; fi

# The default migtunnel: a private copy of the launcher and the jars as they are now.
mt_version=
if [[ -z $migtunnel ]]; then
    jar=$repo_root/cli/target/migtunnel-cli.jar
    [[ -f $jar && -d $repo_root/cli/target/lib ]] \
        || die "$jar not built; build it first: ./mvnw -q -o -DskipTests package"
    mkdir -p "$workdir/mt/bin" "$workdir/mt/cli/target"
    cp -- "$repo_root/bin/migtunnel" "$workdir/mt/bin/"
    cp -r -- "$jar" "$repo_root/cli/target/lib" "$workdir/mt/cli/target/"
    migtunnel=$workdir/mt/bin/migtunnel
    mt_version="jar of $(date -u -r "$jar" '+%Y-%m-%d %H:%M UTC')"
    if git -C "$repo_root" rev-parse --short HEAD >/dev/null 2>&1; then
        mt_version+=", tree $(git -C "$repo_root" rev-parse --short HEAD)"
        if [[ -n $(git -C "$repo_root" status --porcelain -- core transport cli 2>/dev/null) ]]; then
            mt_version+=" (core/transport/cli modified)"
        fi
    fi
fi

# paths: m = migtunnel, s = socat, h = ssh -L, d = direct (idle only)
declare -A path_name=([m]="migtunnel" [s]="socat" [h]="ssh -L" [d]="direct")
declare -A rr_sock=() bulk_sock=() path_pids=() path_dead=()
paths=(m s)
declare -A path_opts=([m]="")
for (( v = 1; v <= ${#variants[@]}; v++ )); do
    paths+=("v$v"); path_name[v$v]="migtunnel ${variants[$((v - 1))]}"; path_opts[v$v]=${variants[$((v - 1))]}
done
if (( with_ssh )); then paths+=(h); fi
if (( with_direct )); then paths+=(d); fi

start_migtunnel() {   # start_migtunnel KEY: the pair of path KEY (m, or a variant vN with its options)
    local key=$1 port d_pid
    local -a opts=("${migtunnel_opts[@]}") extra=()
    local word java_opts=${JAVA_OPTS:-}
    read -ra extra <<<"${path_opts[$key]}"
    for word in "${extra[@]}"; do   # -D and -XX words are JVM options of this pair
        if [[ $word == -D* || $word == -XX* ]]; then java_opts+=" $word"; else opts+=("$word"); fi
    done
    port=$(pick_port)
    mkdir -m 0700 "$workdir/$key"
    start_bg "$workdir/$key-destination.log" env JAVA_OPTS="$java_opts" "$migtunnel" destination --listen "127.0.0.1:$port" \
        --route "rr=$target_rr" --route "bulk=$target_bulk" "${opts[@]}"
    d_pid=$bg_pid
    wait_for "migtunnel destination" "$d_pid" logged "$workdir/$key-destination.log" ready || return 1
    start_bg "$workdir/$key-source.log" env JAVA_OPTS="$java_opts" "$migtunnel" source --connect "127.0.0.1:$port" \
        --expose "rr=$workdir/$key/rr.sock" --expose "bulk=$workdir/$key/bulk.sock" "${opts[@]}"
    wait_for "migtunnel source" "$bg_pid" logged "$workdir/$key-source.log" ready || return 1
    wait_for "migtunnel source" "$bg_pid" is_socket "$workdir/$key/bulk.sock" || return 1
    kill -0 "$d_pid" 2>/dev/null || { log "migtunnel destination exited"; return 1; }
    path_pids[$key]="$d_pid $bg_pid"
    rr_sock[$key]=$workdir/$key/rr.sock bulk_sock[$key]=$workdir/$key/bulk.sock
}

start_socat() {   # one relay pair per name, each connection its own TCP connection
    local name target port pids=()
    mkdir -m 0700 "$workdir/s"
    for name in rr bulk; do
        target=$target_rr; [[ $name == bulk ]] && target=$target_bulk
        port=$(pick_port)
        start_bg "$workdir/s-$name-tcp.log" socat -b 262144 \
            "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,nodelay" "UNIX-CONNECT:$target"
        pids+=("$bg_pid")
        wait_for "socat TCP-LISTEN ($name)" "$bg_pid" tcp_listening "$port" || return 1
        start_bg "$workdir/s-$name-unix.log" socat -b 262144 \
            "UNIX-LISTEN:$workdir/s/$name.sock,fork" "TCP:127.0.0.1:$port,nodelay"
        pids+=("$bg_pid")
        wait_for "socat UNIX-LISTEN ($name)" "$bg_pid" is_socket "$workdir/s/$name.sock" || return 1
    done
    path_pids[s]="${pids[*]}"
    rr_sock[s]=$workdir/s/rr.sock bulk_sock[s]=$workdir/s/bulk.sock
}

ssh_version=
start_ssh() {   # a throwaway sshd and ONE ssh connection with a -L forward per name
    local port sshdir=$workdir/h d_pid
    port=$(pick_port)
    mkdir -m 0700 "$sshdir"
    ssh-keygen -q -t ed25519 -N '' -C latload-host -f "$sshdir/host_key" </dev/null >&2 || return 1
    ssh-keygen -q -t ed25519 -N '' -C latload-client -f "$sshdir/client_key" </dev/null >&2 || return 1
    cp -- "$sshdir/client_key.pub" "$sshdir/authorized_keys"
    chmod 0600 "$sshdir/authorized_keys"
    cat >"$sshdir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $sshdir/host_key
AuthorizedKeysFile $sshdir/authorized_keys
PidFile $sshdir/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
StreamLocalBindUnlink yes
Ciphers aes128-gcm@openssh.com
EOF
    start_bg "$workdir/h-sshd.log" "$sshd_bin" -D -e -f "$sshdir/sshd_config"
    d_pid=$bg_pid
    wait_for "sshd" "$d_pid" tcp_listening "$port" || return 1
    start_bg "$workdir/h-ssh.log" ssh -N -F /dev/null \
        -o BatchMode=yes -o IdentitiesOnly=yes -o ExitOnForwardFailure=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o Ciphers=aes128-gcm@openssh.com -o StreamLocalBindUnlink=yes \
        -i "$sshdir/client_key" -p "$port" \
        -L "$sshdir/rr.sock:$target_rr" -L "$sshdir/bulk.sock:$target_bulk" root@127.0.0.1
    wait_for "ssh -L" "$bg_pid" is_socket "$sshdir/rr.sock" || return 1
    wait_for "ssh -L" "$bg_pid" is_socket "$sshdir/bulk.sock" || return 1
    path_pids[h]="$d_pid $bg_pid"
    rr_sock[h]=$sshdir/rr.sock bulk_sock[h]=$sshdir/bulk.sock
    ssh_version=$(ssh -V 2>&1 | awk -F', ' '{print $1; exit}')
}

for p in "${paths[@]}"; do
    case $p in
        m) log "starting migtunnel ($migtunnel${MIGTUNNEL_OPTS:+, MIGTUNNEL_OPTS=$MIGTUNNEL_OPTS})"
           start_migtunnel m || { dump_logs m-; die "migtunnel did not come up"; } ;;
        v*) log "starting ${path_name[$p]}"
           start_migtunnel "$p" || { dump_logs "$p-"; die "${path_name[$p]} did not come up"; } ;;
        s) log "starting socat relays"; start_socat || { dump_logs s-; die "socat relays did not come up"; } ;;
        h) log "starting sshd and ssh -L"; start_ssh || { dump_logs h-; die "ssh -L did not come up"; } ;;
        d) rr_sock[d]=$target_rr bulk_sock[d]=$target_bulk ;;
    esac
done

path_alive() {
    local p
    for p in ${path_pids[$1]:-}; do kill -0 "$p" 2>/dev/null || return 1; done
}

# ---------------------------------------------------------------- cells

# A cell is (path, S, N, round). A loaded cell is one latload run; an idle cell is --idle-chunks
# runs of --idle-rts/chunks round trips, the paths' runs alternating: on this VM an idle round
# trip costs 10 µs or 50 µs depending on whether the two ends happen to share a CPU, and where
# the threads land is decided per run, so more, shorter runs average that out.
declare -A status=()           # status[path,S,N,round] = FAIL or WRONG once a run of it failed
declare -A bulk_bytes=() window_s=()   # summed over the cell's runs
failures=0
chunk_rts=$(( idle_rts / idle_chunks ))
shopt -s nullglob

# run_cell PATH S N ROUND|warmup PART [DURATION]: one latload run
run_cell() {
    local p=$1 size=$2 n=$3 r=$4 part=$5 dur=${6:-$duration} out rc=0 label key
    local samples=$workdir/samples/$p-$size-$n-$r-$part.txt
    key=$p,$size,$n,$r
    label="${path_name[$p]} S=$size N=$n round $r"
    if (( n == 0 && idle_chunks > 1 )) && [[ $r != warmup ]]; then label+=" part $part"; fi
    local -a mode=(--rts "$chunk_rts" --warmup-rts 500)
    if [[ $r == warmup ]]; then mode=(--rts 5000 --warmup-rts 0); fi
    if (( n > 0 )); then mode=(--duration "$dur" --ramp "$ramp"); fi
    if [[ -n ${path_dead[$p]:-} ]]; then status[$key]=${status[$key]:-FAIL}; return 0; fi
    out=$("$latload" cell --target-rr "$target_rr" --target-bulk "$target_bulk" \
          --rr "${rr_sock[$p]}" --bulk "${bulk_sock[$p]}" --size "$size" --streams "$n" \
          "${mode[@]}" --samples "$samples" 2>"$workdir/cell.err") || rc=$?
    if (( rc == 0 )); then
        log "$label: $out"
        bulk_bytes[$key]=$(( ${bulk_bytes[$key]:-0} + $(field bulk_bytes "$out") ))
        window_s[$key]=$(awk -v a="${window_s[$key]:-0}" -v b="$(field window_s "$out")" 'BEGIN { printf "%.6f", a + b }')
        if [[ $r == warmup ]]; then rm -f -- "$samples"
        elif [[ -n $samples_dir ]]; then cp -- "$samples" "$samples_dir/"; fi
    else
        log "$label: FAILED (latload exit $rc): $(cat "$workdir/cell.err")"
        rm -f -- "$samples"
        if (( rc == 3 )); then status[$key]=WRONG; else status[$key]=${status[$key]:-FAIL}; fi
        failures=$(( failures + 1 ))
        dump_logs "$p-"
    fi
    if ! path_alive "$p"; then
        log "${path_name[$p]}: a relay process exited; its remaining cells are marked FAIL"
        path_dead[$p]=1
        dump_logs "$p-"
    fi
}

field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }   # field KEY LINE

# untimed warm-up of every path (JIT, buffer pools, socat's first forks)
if awk -v w="$warmup" 'BEGIN { exit !(w > 0) }'; then
    wn=0
    for n in "${bulk_list[@]}"; do if (( n > wn )); then wn=$n; fi; done
    if (( wn > 2 )); then wn=2; fi
    for p in "${paths[@]}"; do
        log "warm-up: ${path_name[$p]}"
        run_cell "$p" "${size_list[-1]}" 0 warmup 1
        if [[ $p != d ]] && (( wn > 0 )); then run_cell "$p" "${size_list[-1]}" "$wn" warmup 1 "$warmup"; fi
    done
    if (( failures > 0 )); then die "warm-up failed"; fi
fi

t_start=$(date +%s)
cell_index=0
for (( r = 1; r <= rounds; r++ )); do
    for size in "${size_list[@]}"; do
        for n in "${bulk_list[@]}"; do
            cell_paths=()
            for p in "${paths[@]}"; do
                if [[ $p == d ]] && (( n > 0 )); then continue; fi
                cell_paths+=("$p")
            done
            parts=1
            if (( n == 0 )); then parts=$idle_chunks; fi
            # rotate the order, so that no path always runs first (or right after another)
            k=${#cell_paths[@]}
            for (( c = 1; c <= parts; c++ )); do
                for (( i = 0; i < k; i++ )); do
                    run_cell "${cell_paths[$(( (i + r + c + cell_index) % k ))]}" "$size" "$n" "$r" "$c"
                done
            done
            cell_index=$(( cell_index + 1 ))
        done
    done
    log "round $r of $rounds done ($(( $(date +%s) - t_start )) s)"
done

# ---------------------------------------------------------------- report

# summarize PATH S N ROUND...: "round-trips p50 p99 p999 bulk-MB/s" over those rounds' runs
# (percentiles of all their round trips pooled), or FAIL / WRONG
summarize() {
    local p=$1 size=$2 n=$3 r key worst= bytes=0 secs=0 st
    local -a list=()
    shift 3
    for r in "$@"; do
        key=$p,$size,$n,$r
        case ${status[$key]:-} in
            WRONG) worst=WRONG ;;
            FAIL) worst=${worst:-FAIL} ;;
        esac
        list+=("$workdir/samples/$p-$size-$n-$r-"*.txt)
        bytes=$(( bytes + ${bulk_bytes[$key]:-0} ))
        secs=$(awk -v a="$secs" -v b="${window_s[$key]:-0}" 'BEGIN { printf "%.6f", a + b }')
    done
    if [[ -n $worst ]]; then echo "$worst"; return 0; fi
    if (( ${#list[@]} == 0 )); then echo FAIL; return 0; fi
    st=$("$latload" stats "${list[@]}")
    echo "$(field n "$st") $(field p50 "$st") $(field p99 "$st") $(field p999 "$st")" \
         "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? b / 1e6 / s : 0 }')"
}

declare -A pooled=() per_round=()
all_rounds=$(seq 1 "$rounds")
for p in "${paths[@]}"; do
    for size in "${size_list[@]}"; do
        for n in "${bulk_list[@]}"; do
            if [[ $p == d ]] && (( n > 0 )); then continue; fi
            # shellcheck disable=SC2086
            pooled[$p,$size,$n]=$(summarize "$p" "$size" "$n" $all_rounds)
            for (( r = 1; r <= rounds; r++ )); do
                per_round[$p,$size,$n,$r]=$(summarize "$p" "$size" "$n" "$r")
            done
        done
    done
done

fmt_us() {   # µs: 3 significant digits at most, one decimal below 100
    if [[ $1 =~ ^[0-9.]+$ ]]; then awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else printf "%.1f", v }'
    else echo "$1"; fi
}

echo "\`\`\`"
env_prefix=
for var in MIGTUNNEL_OPTS JAVA_OPTS TMPDIR; do
    if [[ -n ${!var:-} ]]; then env_prefix+="$var=$(printf '%q' "${!var}") "; fi
done
echo "\$ $env_prefix$cmdline"
echo "\`\`\`"
echo
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
versions="$(socat -V 2>/dev/null | awk '/socat version/ {print "socat", $3; exit}')"
versions+=", $(java -version 2>&1 | awk -F'"' '/version/ {print "java", $2; exit}')"
[[ -n $mt_version ]] && versions+=", migtunnel $mt_version"
[[ -n $ssh_version ]] && versions+=", $ssh_version (aes128-gcm@openssh.com)"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) CPUs (load avg $load_start at start," \
     "$load_end at end); $versions. $rounds rounds, interleaved; loaded cells: ${duration} s window after" \
     "${ramp} s ramp; idle cells: $idle_rts round trips in $idle_chunks runs; percentiles over all rounds' round trips;" \
     "bulk MB/s = 10^6 bytes/s received by the sinks over the window"
echo
echo "| S (bytes) | bulk streams | path | round trips | p50 µs | p99 µs | p99.9 µs | bulk MB/s |"
echo "|--:|--:|---|--:|--:|--:|--:|--:|"
for size in "${size_list[@]}"; do
    for n in "${bulk_list[@]}"; do
        for p in "${paths[@]}"; do
            if [[ $p == d ]] && (( n > 0 )); then continue; fi
            v=${pooled[$p,$size,$n]}
            if [[ $v == FAIL || $v == WRONG ]]; then
                echo "| $size | $n | ${path_name[$p]} | $v | | | | |"; continue
            fi
            read -r cnt p50 p99 p999 mbps <<<"$v"
            bulk_cell=$mbps; (( n == 0 )) && bulk_cell="—"
            echo "| $size | $n | ${path_name[$p]} | $cnt | $(fmt_us "$p50") | $(fmt_us "$p99") | $(fmt_us "$p999") | $bulk_cell |"
        done
    done
done
echo

# ratios migtunnel/socat against the issue's targets
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "n/a" }'; }
met() {   # met RATIO OP LIMIT
    awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (r == "n/a") { print "n/a"; exit }
        ok = (op == "le") ? (r + 0 <= l + 0) : (r + 0 >= l + 0)
        print ok ? "met" : "**not met**" }'
}
met_count=0 target_count=0
ratio_row() {   # ratio_row S N METRIC-LABEL FIELD(p50|p99|mbps) OP LIMIT
    local size=$1 n=$2 label=$3 f=$4 op=$5 limit=$6 vm vs rm rr_list= r x y a b idx
    case $f in p50) idx=2 ;; p99) idx=3 ;; mbps) idx=5 ;; esac
    vm=${pooled[$rp,$size,$n]} vs=${pooled[s,$size,$n]}
    if [[ $vm =~ ^[0-9] && $vs =~ ^[0-9] ]]; then
        x=$(awk -v i="$idx" '{ print $i }' <<<"$vm"); y=$(awk -v i="$idx" '{ print $i }' <<<"$vs")
        rm=$(ratio "$x" "$y")
    else
        x=${vm%% *} y=${vs%% *} rm=n/a
    fi
    for (( r = 1; r <= rounds; r++ )); do
        a=${per_round[$rp,$size,$n,$r]} b=${per_round[s,$size,$n,$r]}
        if [[ $a =~ ^[0-9] && $b =~ ^[0-9] ]]; then
            rr_list+="${rr_list:+, }$(ratio "$(awk -v i="$idx" '{ print $i }' <<<"$a")" "$(awk -v i="$idx" '{ print $i }' <<<"$b")")"
        else
            rr_list+="${rr_list:+, }n/a"
        fi
    done
    local sym="≤"; [[ $op == ge ]] && sym="≥"
    local verdict
    verdict=$(met "$rm" "$op" "$limit")
    target_count=$(( target_count + 1 ))
    [[ $verdict == met ]] && met_count=$(( met_count + 1 ))
    if [[ $f != mbps ]]; then x=$(fmt_us "$x"); y=$(fmt_us "$y"); fi
    echo "| $size | $n | $label | $x | $y | **$rm** | $rr_list | $sym $limit | $verdict |"
}
for rp in "${paths[@]}"; do
    [[ $rp == m || $rp == v* ]] || continue
    met_count=0 target_count=0
    echo "${path_name[$rp]}/socat (pooled over the rounds; the per-round ratios show the noise):"
    echo
    echo "| S (bytes) | bulk streams | metric | ${path_name[$rp]} | socat | ratio | per round | target | |"
    echo "|--:|--:|---|--:|--:|--:|---|--:|---|"
    for size in "${size_list[@]}"; do
        for n in "${bulk_list[@]}"; do
            if (( n == 0 )); then
                ratio_row "$size" 0 "idle p50 µs" p50 le 1.3
            else
                ratio_row "$size" "$n" "loaded p50 µs" p50 le 1.5
                ratio_row "$size" "$n" "loaded p99 µs" p99 le 2
                ratio_row "$size" "$n" "bulk MB/s" mbps ge 1
            fi
        done
    done
    echo
    echo "Targets met by ${path_name[$rp]}: $met_count of $target_count."
    echo
done

if (( failures > 0 )); then
    log "$failures cell(s) FAILED"
    exit 1
fi
exit 0
