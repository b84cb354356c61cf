#!/usr/bin/env bash
# scripts/publish.sh [OUT_DIR] - install artifacts without Docker (docs/operations.md):
#   OUT_DIR/worker-linux-x64/        the worker, self-contained for linux-x64 (no .NET on the host needed):
#                                    copy it to /opt/smartcity and use deploy/systemd/smartcity-worker.service
#                                    (its ExecStart then is /opt/smartcity/SmartCity.Worker)
#   OUT_DIR/worker-linux-x64.tar.gz  the same, packed
#   OUT_DIR/tools/*.nupkg            the command-line tools as .NET tools:
#                                    dotnet tool install --global --add-source OUT_DIR/tools smartcity-provision
# Default OUT_DIR: artifacts/publish. RUNTIME=linux-arm64 for another target.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-artifacts/publish}
runtime=${RUNTIME:-linux-x64}
mkdir -p "$out/tools"
out=$(cd "$out" && pwd)

worker="$out/worker-$runtime"
rm -rf "$worker"
dotnet publish src/SmartCity.Worker/SmartCity.Worker.csproj -c Release -r "$runtime" --self-contained true \
  -p:PublishSingleFile=false -o "$worker" -nologo -v quiet
tar -C "$out" -czf "$out/worker-$runtime.tar.gz" "worker-$runtime"

for tool in src/SmartCity.ProfileTool src/SmartCity.Provisioning src/SmartCity.Backup simulators/SmartCity.Simulators; do
  dotnet pack "$tool" -c Release -o "$out/tools" -nologo -v quiet
done

echo "worker: $worker ($(du -sh "$worker" | cut -f1)), $out/worker-$runtime.tar.gz"
echo "tools:  $(cd "$out/tools" && ls ./*.nupkg | xargs -n1 basename | tr '\n' ' ')"
