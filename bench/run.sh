#!/usr/bin/env bash
# SmartCity benchmarks (not tests; scripts/test.sh never runs them).
#   bench/run.sh [e2e options]         end-to-end: broker and InfluxDB ceilings, pipeline QoS 1/0,
#                                      latency, shared subscription, 100k-device memory (~6 min)
#   bench/run.sh --phases partitions --districts 12   throughput with 1, 2 and 3 partitioned workers
#   bench/run.sh --micro [BDN filter]  micro-benchmarks (BenchmarkDotNet): decode and line protocol
# The e2e run starts its own mosquitto, InfluxDB and nginx shim with scripts/servers.sh on free
# loopback ports in a temporary folder and stops them on exit (also on Ctrl-C or failure).
# Worker settings for the e2e run are the worker's own environment variables, e.g.
#   SMARTCITY_Influx__BatchSize=10000 bench/run.sh --phases pipeline
# Options: `bench/run.sh --help`. Results: the summary on stdout, JSON in bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == --micro ]]; then
  shift
  dotnet build -c Release bench/SmartCity.MicroBench -v quiet -nologo
  exec dotnet bench/SmartCity.MicroBench/bin/Release/net10.0/SmartCity.MicroBench.dll --filter "${1:-*}" --artifacts bench/out/micro
fi

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  dotnet build -c Release bench/SmartCity.Bench -v quiet -nologo >/dev/null
  exec dotnet bench/SmartCity.Bench/bin/Release/net10.0/SmartCity.Bench.dll --help
fi

run_dir=$(mktemp -d /tmp/smartcity-bench.XXXXXX)
bench_pid=
cleanup() {
  # The benchmark runs in its own process group with its children (workers, publishers,
  # subscribers): stop the group, then the servers.
  if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM -- "-$bench_pid" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$bench_pid" 2>/dev/null || true
  fi
  scripts/servers.sh stop "$run_dir/servers" >/dev/null 2>&1 || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dotnet build -c Release bench/SmartCity.Bench -v quiet -nologo
scripts/servers.sh start "$run_dir/servers" >/dev/null
set -a; . "$run_dir/servers/servers.env"; set +a

mkdir -p bench/out
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="bench/out/e2e-$stamp.txt"
# setsid: a process group of its own (see cleanup). Bounded: each phase has its own timeouts, and
# the whole run is capped here.
setsid timeout --signal=TERM --kill-after=30 1200 \
  dotnet bench/SmartCity.Bench/bin/Release/net10.0/SmartCity.Bench.dll e2e \
    --work-dir "$run_dir/work" --json "bench/out/e2e-$stamp.json" "$@" </dev/null >"$out" 2>&1 &
bench_pid=$!
tail -n +1 --pid="$bench_pid" -f "$out" &
set +e
wait "$bench_pid"
status=$?
set -e
wait || true   # the tail
# Logs of every process (worker, publisher, subscriber, simulator) are kept next to the results.
cp -r "$run_dir/work/logs" "bench/out/e2e-$stamp-logs" 2>/dev/null || true
exit "$status"
