#!/usr/bin/env bash
# nbd-throughput.sh - NBD copy throughput: direct vs socat vs migtunnel (with/without
# metrics, with mutual TLS) vs ssh -L.
#
# Uses nbdcopy (libnbd >= 1.14) to write, then read, a random image that
# qemu-nbd serves:
#   a) direct:    nbdcopy -> qemu-nbd UNIX socket
#   b) socat:     nbdcopy -> socat UNIX->TCP(127.0.0.1) -> socat TCP->UNIX -> qemu-nbd
#   c) migtunnel: nbdcopy -> migtunnel source --expose -> TCP(127.0.0.1)
#                 -> migtunnel destination --route -> qemu-nbd
#   m) migtunnel as c, with --metrics 127.0.0.1:0 on both roles (metrics overhead)
#   t) migtunnel as c, with mutual TLS 1.3 (throwaway EC P-256 CA and certificates)
#   s) ssh -L:    nbdcopy -> ssh -L UNIX->UNIX over one OpenSSH connection
#                 (aes128-gcm@openssh.com) to a throwaway loopback sshd -> qemu-nbd
#   z) splice:    as b, but relays that move bytes with splice(2) and never copy them to
#                 user space (bench/splice-relay, built with gcc): the ceiling for any relay
# each with 1 NBD connection and with N connections (default 4, multi-conn).
# Prints a Markdown table on stdout; progress and errors go to stderr.
# See bench/README.md.

set -euo pipefail

usage() {
    cat <<EOF
Usage: $0 [options]

  --size SIZE          image size, IEC suffix K/M/G/T (default 1G; e.g. 256M)
  --repeat N           run each measurement N times; report best and median (default 1)
  --warmup             one untimed write and read per cell before the timed ones (same for
                       every column), so long-running relays are measured warm
  --connections N      NBD connections for the multi-stream rows (default 4)
  --columns LIST       columns to run, any of a,b,c,m,t,s,z (default a,b,c); m is c with
                       --metrics 127.0.0.1:0 on both roles, reported with a c/m ratio;
                       t is c with mutual TLS, s is ssh -L to a loopback sshd; t/s and
                       t/c ratios are shown when their columns ran
  --migtunnel CMD      migtunnel command (default: <repo>/bin/migtunnel)
  --timeout SEC        per-nbdcopy timeout (default 600)
  --startup-timeout SEC  deadline for servers/tunnel to come up (default 60)
  -h, --help           this help

Environment:
  MIGTUNNEL_OPTS  extra arguments appended to both migtunnel commands
  JAVA_OPTS       passed through to bin/migtunnel (e.g. to enable JFR)
  NBDCOPY_OPTS    extra arguments for every nbdcopy invocation
  TMPDIR          where the work directory is created (default /tmp)

Exit status is non-zero if any copy fails, a tunnel does not come up, or a
read-back does not match the source image.
EOF
}

die() { echo "nbd-throughput: error: $*" >&2; exit 2; }
log() { echo "nbd-throughput: $*" >&2; }

# ---------------------------------------------------------------- arguments

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

shell_quote() {   # quote only what needs quoting, for a readable command line
    if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then printf '%s' "$1"; else printf '%q' "$1"; fi
}
cmdline=$(shell_quote "$0")
for arg in "$@"; do cmdline+=" $(shell_quote "$arg")"; done

size_arg=1G
repeat=1
warmup=0
conns=4
columns=a,b,c
migtunnel="$repo_root/bin/migtunnel"
migtunnel_explicit=0
copy_timeout=600
startup_timeout=60

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs an argument"; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --size)            need_arg "$@"; size_arg=$2; shift 2 ;;
        --size=*)          size_arg=${1#*=}; shift ;;
        --warmup)          warmup=1; shift ;;
        --repeat)          need_arg "$@"; repeat=$2; shift 2 ;;
        --repeat=*)        repeat=${1#*=}; shift ;;
        --connections)     need_arg "$@"; conns=$2; shift 2 ;;
        --connections=*)   conns=${1#*=}; shift ;;
        --columns)         need_arg "$@"; columns=$2; shift 2 ;;
        --columns=*)       columns=${1#*=}; shift ;;
        --migtunnel)       need_arg "$@"; migtunnel=$2; migtunnel_explicit=1; shift 2 ;;
        --migtunnel=*)     migtunnel=${1#*=}; migtunnel_explicit=1; shift ;;
        --timeout)         need_arg "$@"; copy_timeout=$2; shift 2 ;;
        --timeout=*)       copy_timeout=${1#*=}; shift ;;
        --startup-timeout) need_arg "$@"; startup_timeout=$2; shift 2 ;;
        --startup-timeout=*) startup_timeout=${1#*=}; shift ;;
        -h|--help)         usage; exit 0 ;;
        *)                 usage >&2; die "unknown argument: $1" ;;
    esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
check_uint() {   # check_uint OPTION VALUE MIN
    if ! is_uint "$2" || (( $2 < $3 )); then die "$1 must be an integer >= $3"; fi
}
check_uint --repeat "$repeat" 1
check_uint --connections "$conns" 2
check_uint --timeout "$copy_timeout" 1
check_uint --startup-timeout "$startup_timeout" 1

# 1G, 256M, 256MiB, 1073741824 -> bytes (binary units)
size_norm=${size_arg%iB}
size_norm=${size_norm%B}
size=$(numfmt --from=iec "$size_norm" 2>/dev/null) || die "bad --size: $size_arg"
check_uint --size "$size" 1048576
(( size % 512 == 0 )) || die "--size must be a multiple of 512 bytes"

run_a=0 run_b=0 run_c=0 run_m=0 run_t=0 run_s=0 run_z=0
IFS=', ' read -ra col_list <<<"$columns"
for c in "${col_list[@]}"; do
    case $c in
        a) run_a=1 ;; b) run_b=1 ;; c) run_c=1 ;; m) run_m=1 ;; t) run_t=1 ;; s) run_s=1 ;; z) run_z=1 ;;
        abc) run_a=1 run_b=1 run_c=1 ;;
        *) die "--columns: unknown column '$c' (use a, b, c, m, t, s, z)" ;;
    esac
done

read -ra migtunnel_opts <<<"${MIGTUNNEL_OPTS:-}"
read -ra nbdcopy_opts <<<"${NBDCOPY_OPTS:-}"

for tool in nbdcopy qemu-nbd numfmt awk setsid timeout cmp; do
    command -v "$tool" >/dev/null || die "$tool not found in PATH"
done
if (( run_b )); then command -v socat >/dev/null || die "socat not found in PATH"; fi
if (( run_t )); then command -v openssl >/dev/null || die "openssl not found in PATH (needed for column t)"; fi
if (( run_z )); then command -v gcc >/dev/null || die "gcc not found in PATH (needed for column z)"; fi

# Column s needs OpenSSH's server; install it (Debian/Ubuntu) when it is missing.
sshd_bin=/usr/sbin/sshd
if (( run_s )); then
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
    for tool in ssh ssh-keygen; do
        command -v "$tool" >/dev/null || die "$tool not found in PATH (needed for column s)"
    done
    # sshd refuses to start without its privilege separation directory
    if [[ ! -d /run/sshd ]]; then mkdir -m 0755 /run/sshd || die "cannot create /run/sshd"; fi
fi

# Columns c, m and t: skipped (not failed) when the default bin/migtunnel is not built.
mt_skip_reason=
if (( run_c || run_m || run_t )); then
    if [[ $migtunnel == */* ]]; then
        [[ -f $migtunnel && -x $migtunnel ]] || mt_skip_reason="skipped: bin/migtunnel not built"
    else
        command -v "$migtunnel" >/dev/null || mt_skip_reason="skipped: $migtunnel not found"
    fi
    if [[ -n $mt_skip_reason ]]; then
        (( migtunnel_explicit )) && die "--migtunnel $migtunnel: not an executable command"
        log "$mt_skip_reason"
    fi
fi

# ---------------------------------------------------------------- processes

workdir=
declare -a bg_pids=()
failures=0

# Start a background process in its own session/process group so that the
# whole group (e.g. a launcher script plus its JVM) can be killed later.
# Sets $bg_pid.
bg_pid=
start_bg() {
    local logfile=$1; shift
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    bg_pid=$!
    bg_pids+=("$bg_pid")
}

stop_pids() {
    local p i alive
    [[ $# -gt 0 ]] || return 0
    for p in "$@"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    done
    for (( i = 0; i < 50; i++ )); do
        alive=0
        for p in "$@"; do
            if kill -0 "$p" 2>/dev/null; then alive=1; fi
        done
        (( alive )) || break
        sleep 0.1
    done
    for p in "$@"; do
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
        { wait "$p"; } 2>/dev/null || true
    done
}

stop_all() {
    local rest
    if [[ ${#bg_pids[@]} -gt 0 ]]; then
        rest=("${bg_pids[@]}")
        bg_pids=()
        stop_pids "${rest[@]}"
    fi
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_all
    if [[ -n $workdir && -d $workdir ]]; then rm -rf -- "$workdir"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

now() { date +%s.%N; }

# wait_for DESCRIPTION PID TEST-COMMAND...: poll until TEST succeeds, the
# process PID dies, or the startup deadline passes.
wait_for() {
    local what=$1 pid=$2; shift 2
    local deadline
    deadline=$(( $(date +%s) + startup_timeout ))
    until "$@"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what: process $pid exited before it was ready"; return 1
        fi
        if (( $(date +%s) >= deadline )); then
            log "$what: not ready after ${startup_timeout}s"; return 1
        fi
        sleep 0.05
    done
}

# shellcheck disable=SC2317  # invoked via wait_for
is_socket() { [[ -S $1 ]]; }

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

dump_logs() {
    local f
    for f in "$workdir"/*.log; do
        [[ -s $f ]] || continue
        echo "----- ${f##*/} (last 20 lines) -----" >&2
        tail -n 20 "$f" >&2
    done
}

# ---------------------------------------------------------------- setup

load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
workdir=$(mktemp -d "${TMPDIR:-/tmp}/nbdbench.XXXXXX")
src="$workdir/src.bin"
img="$workdir/disk.raw"
qsock="$workdir/qemu-nbd.sock"

log "work dir $workdir ($(df -P -T "$workdir" | awk 'NR==2 {print $2}'))"
log "creating $size_arg random source image"
if command -v openssl >/dev/null; then
    # openssl rand takes an int, so write in chunks of <= 1 GiB
    remaining=$size
    : >"$src"
    while (( remaining > 0 )); do
        chunk=$(( remaining > 1073741824 ? 1073741824 : remaining ))
        openssl rand "$chunk" >>"$src"
        remaining=$(( remaining - chunk ))
    done
else
    head -c "$size" /dev/urandom >"$src"
fi
[[ $(stat -c %s "$src") -eq $size ]] || die "failed to create $src"

# Column t: a throwaway CA plus destination and source certificates (EC P-256,
# PKCS#8 keys), as in README.md's Security section.
tlsdir="$workdir/tls"
if (( run_t )) && [[ -z $mt_skip_reason ]]; then
    log "creating throwaway TLS CA and certificates in $tlsdir"
    mkdir -p "$tlsdir"
    (
        cd "$tlsdir"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
        openssl req -x509 -new -key ca.key -subj /CN=nbdbench-ca -days 2 \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out ca.crt
        for role in dst:serverAuth src:clientAuth; do
            name=${role%%:*} usage=${role#*:}
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key" 2>/dev/null
            openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr"
            printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' "$usage" >"$name.ext"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile "$name.ext" -out "$name.crt" 2>/dev/null
        done
    ) >&2 || die "failed to create TLS certificates"
fi

# Column s: throwaway sshd host key and client key; root's authorized key is
# read from the work dir only.
sshdir="$workdir/ssh"
if (( run_s )); then
    log "creating throwaway ssh host and client keys in $sshdir"
    mkdir -m 0700 "$sshdir"
    ssh-keygen -q -t ed25519 -N '' -C nbdbench-host -f "$sshdir/host_key" </dev/null >&2 \
        || die "ssh-keygen (host key) failed"
    ssh-keygen -q -t ed25519 -N '' -C nbdbench-client -f "$sshdir/client_key" </dev/null >&2 \
        || die "ssh-keygen (client key) failed"
    cp -- "$sshdir/client_key.pub" "$sshdir/authorized_keys"
    chmod 0600 "$sshdir/authorized_keys"
fi
tls_provider=

# ---------------------------------------------------------------- measurement

col_enabled() {
    case $1 in
        a) (( run_a )) ;; b) (( run_b )) ;; c) (( run_c )) ;; m) (( run_m )) ;;
        t) (( run_t )) ;; s) (( run_s )) ;; z) (( run_z )) ;; *) return 1 ;;
    esac
}

# results[col,conns,op] = "best median" in MB/s, or a status word
declare -A results=()
declare -a verified=()

mbps() { awk -v b="$size" -v t0="$1" -v t1="$2" 'BEGIN { d = t1 - t0; if (d <= 0) d = 1e-9; printf "%.0f", b / 1e6 / d }'; }

# best and median of a list of numbers
summarize() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f %.0f", v[NR], med }'; }

# timed_copy LABEL N SRC DST -> echoes MB/s; returns non-zero on failure
timed_copy() {
    local label=$1 n=$2 from=$3 to=$4 t0 t1 rc=0
    sync
    t0=$(now)
    timeout --foreground "$copy_timeout" \
        nbdcopy -C "$n" -T "$n" "${nbdcopy_opts[@]}" "$from" "$to" >&2 || rc=$?
    t1=$(now)
    if (( rc == 124 )); then
        log "$label: nbdcopy timed out after ${copy_timeout}s"; return 1
    elif (( rc != 0 )); then
        log "$label: nbdcopy failed (exit $rc)"; return 1
    fi
    mbps "$t0" "$t1"
}

# Start qemu-nbd on a fresh, fully allocated image.
start_qemu_nbd() {
    rm -f -- "$img" "$qsock"
    fallocate -l "$size" "$img" 2>/dev/null || truncate -s "$size" "$img"
    start_bg "$workdir/qemu-nbd.log" \
        qemu-nbd -f raw -x disk -t --shared=$(( conns * 2 )) -k "$qsock" "$img"
    wait_for "qemu-nbd" "$bg_pid" is_socket "$qsock"
}

# Set up the path for column $1; sets $sock to the UNIX socket nbdcopy uses.
sock=
start_path() {
    local col=$1 port a_pid
    case $col in
        a)
            sock=$qsock
            ;;
        b)
            port=$(pick_port) || return 1
            sock="$workdir/socat.sock"
            rm -f -- "$sock"
            start_bg "$workdir/socat-tcp.log" socat -b 262144 \
                "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$qsock"
            wait_for "socat TCP-LISTEN" "$bg_pid" tcp_listening "$port" || return 1
            start_bg "$workdir/socat-unix.log" socat -b 262144 \
                "UNIX-LISTEN:$sock,fork" "TCP:127.0.0.1:$port"
            wait_for "socat UNIX-LISTEN" "$bg_pid" is_socket "$sock" || return 1
            ;;
        z)
            if [[ ! -x $workdir/splice-relay ]]; then
                gcc -O2 -pthread -o "$workdir/splice-relay" "$script_dir/splice-relay/splice-relay.c" \
                    || { log "cannot build splice-relay"; return 1; }
            fi
            port=$(pick_port) || return 1
            sock="$workdir/splice.sock"
            rm -f -- "$sock"
            start_bg "$workdir/splice-tcp.log" "$workdir/splice-relay" "tcp-listen:$port" "unix:$qsock"
            wait_for "splice-relay tcp-listen" "$bg_pid" tcp_listening "$port" || return 1
            start_bg "$workdir/splice-unix.log" "$workdir/splice-relay" "unix-listen:$sock" "tcp:127.0.0.1:$port"
            wait_for "splice-relay unix-listen" "$bg_pid" is_socket "$sock" || return 1
            ;;
        c|m|t)
            local -a extra=() dst_extra=() src_extra=()
            # m: both roles also serve /metrics on any free port (nothing scrapes it)
            if [[ $col == m ]]; then extra=(--metrics 127.0.0.1:0); fi
            # t: mutual TLS 1.3 with the throwaway certificates
            if [[ $col == t ]]; then
                dst_extra=(--tls-cert "$tlsdir/dst.crt" --tls-key "$tlsdir/dst.key" --tls-ca "$tlsdir/ca.crt")
                src_extra=(--tls-cert "$tlsdir/src.crt" --tls-key "$tlsdir/src.key" --tls-ca "$tlsdir/ca.crt")
            fi
            port=$(pick_port) || return 1
            sock="$workdir/migtunnel.sock"
            rm -f -- "$sock"
            start_bg "$workdir/migtunnel-destination.log" "$migtunnel" destination \
                --listen "127.0.0.1:$port" --route "disk=$qsock" "${extra[@]}" "${dst_extra[@]}" \
                "${migtunnel_opts[@]}"
            a_pid=$bg_pid
            wait_for "migtunnel destination" "$a_pid" tcp_listening "$port" || return 1
            start_bg "$workdir/migtunnel-source.log" "$migtunnel" source \
                --connect "127.0.0.1:$port" --expose "disk=$sock" "${extra[@]}" "${src_extra[@]}" \
                "${migtunnel_opts[@]}"
            # the source creates the socket only once the tunnel session is up
            wait_for "migtunnel source" "$bg_pid" is_socket "$sock" || return 1
            kill -0 "$a_pid" 2>/dev/null || { log "migtunnel destination exited"; return 1; }
            if [[ $col == t && -z $tls_provider ]]; then
                tls_provider=$(sed -n 's/.*TLS provider: //p' "$workdir/migtunnel-destination.log" | head -n1)
                log "TLS provider: ${tls_provider:-? (not logged)}"
            fi
            ;;
        s)
            # A fresh sshd per cell (own config, keys and authorized_keys in the
            # work dir; StrictModes off because /tmp is world-writable), then one
            # ssh connection forwarding the exposed UNIX socket to qemu-nbd's.
            port=$(pick_port) || return 1
            sock="$workdir/ssh.sock"
            rm -f -- "$sock"
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
            start_bg "$workdir/sshd.log" "$sshd_bin" -D -e -f "$sshdir/sshd_config"
            wait_for "sshd" "$bg_pid" tcp_listening "$port" || return 1
            start_bg "$workdir/ssh.log" ssh -N -F /dev/null \
                -o BatchMode=yes -o IdentitiesOnly=yes -o ExitOnForwardFailure=yes \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o Ciphers=aes128-gcm@openssh.com -o StreamLocalBindUnlink=yes \
                -i "$sshdir/client_key" -p "$port" -L "$sock:$qsock" root@127.0.0.1
            wait_for "ssh -L" "$bg_pid" is_socket "$sock" || return 1
            ;;
    esac
}

# run_cell COL N: fresh image + qemu-nbd + path, REPEAT writes, REPEAT reads,
# then one verified read-back; tears everything down again.
run_cell() {
    local col=$1 n=$2 uri i v ok=1 status=FAIL
    local -a w=() r=()
    local label="$col/$n-conn"
    log "column $label"
    if ! start_qemu_nbd || ! start_path "$col"; then
        dump_logs
        results[$col,$n,write]=FAIL results[$col,$n,read]=FAIL
        failures=$(( failures + 1 ))
        stop_all
        return 0
    fi
    uri="nbd+unix:///disk?socket=$sock"

    if (( n > 1 )) && command -v nbdinfo >/dev/null && ! nbdinfo --can multi-conn "$uri" 2>/dev/null; then
        log "$label: warning: server does not advertise multi-conn; nbdcopy will use 1 connection"
    fi

    if (( warmup )); then
        if ! timed_copy "$label warm-up write" "$n" "$src" "$uri" >/dev/null \
            || ! timed_copy "$label warm-up read" "$n" "$uri" null: >/dev/null; then
            ok=0
        fi
    fi
    for (( i = 1; ok && i <= repeat; i++ )); do
        if v=$(timed_copy "$label write #$i" "$n" "$src" "$uri"); then
            w+=("$v"); log "$label write #$i: $v MB/s"
        else ok=0; break; fi
    done
    if (( ok )); then
        for (( i = 1; i <= repeat; i++ )); do
            if v=$(timed_copy "$label read #$i" "$n" "$uri" null:); then
                r+=("$v"); log "$label read #$i: $v MB/s"
            else ok=0; break; fi
        done
    fi
    if (( ok )); then
        # The image was freshly zeroed for this cell, so a match proves both
        # the write and the read path carried the data intact.
        rm -f -- "$workdir/readback.bin"
        if timeout --foreground "$copy_timeout" nbdcopy -C "$n" -T "$n" "${nbdcopy_opts[@]}" \
                "$uri" "$workdir/readback.bin" >&2 \
           && cmp -s -- "$src" "$workdir/readback.bin"; then
            verified+=("$label")
            log "$label: read-back matches source"
        else
            log "$label: READ-BACK MISMATCH or copy failure"
            ok=0 status=MISMATCH
        fi
        rm -f -- "$workdir/readback.bin"
    fi

    if (( ok )); then
        results[$col,$n,write]=$(summarize "${w[@]}")
        results[$col,$n,read]=$(summarize "${r[@]}")
    else
        dump_logs
        results[$col,$n,write]=$status results[$col,$n,read]=$status
        failures=$(( failures + 1 ))
    fi
    stop_all
}

for n in 1 "$conns"; do
    if (( run_a )); then run_cell a "$n"; fi
    if (( run_b )); then run_cell b "$n"; fi
    for col in c m t; do
        if ! col_enabled "$col"; then continue; fi
        if [[ -n $mt_skip_reason ]]; then
            results[$col,$n,write]=skipped results[$col,$n,read]=skipped
        else
            run_cell "$col" "$n"
        fi
    done
    if (( run_s )); then run_cell s "$n"; fi
    if (( run_z )); then run_cell z "$n"; fi
done

# ---------------------------------------------------------------- report

cell() {   # cell COL N OP -> table text
    local v=${results[$1,$2,$3]:-}
    if ! col_enabled "$1"; then echo "-"; return; fi
    case $v in
        ''|FAIL|MISMATCH|skipped) echo "${v:-?}" ;;
        *) if (( repeat > 1 )); then echo "${v% *} (${v#* })"; else echo "${v% *}"; fi ;;
    esac
}

ratio() {  # ratio COL1 COL2 N OP -> best(COL1)/best(COL2)
    local x=${results[$1,$3,$4]:-} y=${results[$2,$3,$4]:-}
    if [[ $x =~ ^[0-9] && $y =~ ^[0-9] ]]; then
        awk -v x="${x% *}" -v y="${y% *}" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "n/a" }'
    else
        echo "n/a"
    fi
}

fs_type=$(df -P -T "$workdir" | awk 'NR==2 {print $2}')
extra_versions=
if (( run_t )) && [[ -n $tls_provider ]]; then extra_versions+=", migtunnel TLS provider $tls_provider"; fi
if (( run_s )); then
    extra_versions+=", $(ssh -V 2>&1 | awk -F', ' '{print $1; exit}') (aes128-gcm@openssh.com)"
fi
repeat_note=
if (( repeat > 1 )); then repeat_note="; best of $repeat runs (median in parentheses)"; fi
if (( warmup )); then repeat_note="$repeat_note; after one untimed warm-up write and read per cell"; fi
echo "\`\`\`"
env_prefix=
for var in MIGTUNNEL_OPTS NBDCOPY_OPTS JAVA_OPTS TMPDIR; do
    if [[ -n ${!var:-} ]]; then env_prefix+="$var=$(printf '%q' "${!var}") "; fi
done
echo "\$ $env_prefix$cmdline"
echo "\`\`\`"
echo
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) CPUs (load avg $load_start at start, $load_end at end);" \
     "$(nbdcopy --version | head -n1), $(qemu-nbd --version | head -n1 | awk '{print $1, $2}')," \
     "$(socat -V 2>/dev/null | awk '/socat version/ {print "socat", $3; exit}')$extra_versions;" \
     "image $size_arg ($size bytes) on $fs_type; MB/s = 10^6 bytes/s$repeat_note"
echo
# column m and its c/m ratio only when m ran, so the usual table keeps its shape
m_head='' m_rule=''
if (( run_m )); then m_head=" m: migtunnel --metrics | c/m |" m_rule="--:|--:|"; fi
# likewise t, s and their ratios (t/s, t/c) only when their columns ran
if (( run_t )); then m_head+=" t: migtunnel TLS |" m_rule+="--:|"; fi
if (( run_s )); then m_head+=" s: ssh -L |" m_rule+="--:|"; fi
if (( run_t && run_s )); then m_head+=" t/s |" m_rule+="--:|"; fi
if (( run_t && run_c )); then m_head+=" t/c |" m_rule+="--:|"; fi
if (( run_z )); then m_head+=" z: splice relay | z/b |" m_rule+="--:|--:|"; fi
echo "| streams | op | a: direct | b: socat | c: migtunnel | c/a | c/b |$m_head"
echo "|--:|---|--:|--:|--:|--:|--:|$m_rule"
for n in 1 "$conns"; do
    for op in write read; do
        m_cells=
        if (( run_m )); then m_cells=" $(cell m "$n" "$op") | $(ratio c m "$n" "$op") |"; fi
        if (( run_t )); then m_cells+=" $(cell t "$n" "$op") |"; fi
        if (( run_s )); then m_cells+=" $(cell s "$n" "$op") |"; fi
        if (( run_t && run_s )); then m_cells+=" $(ratio t s "$n" "$op") |"; fi
        if (( run_t && run_c )); then m_cells+=" $(ratio t c "$n" "$op") |"; fi
        if (( run_z )); then m_cells+=" $(cell z "$n" "$op") | $(ratio z b "$n" "$op") |"; fi
        echo "| $n | $op | $(cell a "$n" "$op") | $(cell b "$n" "$op") | $(cell c "$n" "$op")" \
             "| $(ratio c a "$n" "$op") | $(ratio c b "$n" "$op") |$m_cells"
    done
done
echo
if [[ ${#verified[@]} -gt 0 ]]; then
    echo "Read-back verified (cmp against source): ${verified[*]}."
fi
if (( run_c || run_m || run_t )) && [[ -n $mt_skip_reason ]]; then
    echo "migtunnel: $mt_skip_reason"
fi

if (( failures > 0 )); then
    log "$failures column(s) FAILED"
    exit 1
fi
exit 0
