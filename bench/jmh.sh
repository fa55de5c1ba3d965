#!/usr/bin/env bash
# Runs the JMH micro-benchmarks (bench/jmh), e.g.:
#   bench/jmh.sh                                   # all, JMH's defaults from the annotations
#   bench/jmh.sh DataPathListenerBenchmark -f 1    # one, with JMH options
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$here/bench/jmh/target/migtunnel-bench.jar"
if [[ ! -f "$jar" ]]; then
  (cd "$here" && ./mvnw -B -q -DskipTests -pl bench/jmh -am package)
fi
exec java -jar "$jar" "$@"
