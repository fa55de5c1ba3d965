#!/usr/bin/env bash
# busy-migration.sh: the busy guest (dirtying RAM, writing both disks) migrated with one QMP sequence
# directly, through socat, through bench/splice-relay and through migtunnel (bin/migtunnel source and
# destination), interleaved round by round; then the convergence options (XBZRLE, multifd with and
# without compression) through migtunnel. Every migration that completes is checked on the destination
# (the guest runs on; RAM and disks pass GuestCheck), else the bench fails. Markdown on stdout,
# progress on stderr. Options go to the bench, e.g.:
#   bench/busy-migration.sh                                   # all: precopy, postcopy, tuning; 3 rounds
#   bench/busy-migration.sh --scenarios precopy --repeat 5
#   bench/busy-migration.sh --paths direct,migtunnel --scenarios postcopy
# Environment: TMPDIR (the work directory, default /tmp), JAVA_OPTS (the bench's JVM).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for tool in qemu-system-x86_64 qemu-img qemu-nbd nbdcopy socat gcc ld; do
  command -v "$tool" >/dev/null || { echo "busy-migration: $tool is missing (bin/test installs what the bench needs)" >&2; exit 1; }
done
(cd "$repo" && ./mvnw -B -q -ntp -DskipTests -pl cli,bench/migration -am package)
work=$(mktemp -d "${TMPDIR:-/tmp}/busymig.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
gcc -O2 -pthread -o "$work/splice-relay" "$repo/bench/splice-relay/splice-relay.c"
# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$repo/bench/migration/target/migtunnel-bench-migration.jar" \
  --work "$work" --migtunnel "$repo/bin/migtunnel" --splice-relay "$work/splice-relay" "$@"
