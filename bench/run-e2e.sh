#!/usr/bin/env bash
# End-to-end throughput benchmark (not a test): starts mosquitto + InfluxDB like scripts/test.sh,
# runs simulator -> mosquitto -> worker -> InfluxDB, prints stored messages per second.
#   bench/run-e2e.sh [--messages 200000] [--lamps 1000] [--in-flight 64]
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=$(mktemp -d /tmp/smartcity-bench.XXXXXX)
trap 'scripts/servers.sh stop "$run_dir" >/dev/null 2>&1 || true; rm -rf "$run_dir"' EXIT INT TERM
scripts/servers.sh start "$run_dir"
set -a; . "$run_dir/servers.env"; set +a
dotnet build -c Release bench/SmartCity.Bench -v quiet -nologo
dotnet bench/SmartCity.Bench/bin/Release/net10.0/SmartCity.Bench.dll "$@"
