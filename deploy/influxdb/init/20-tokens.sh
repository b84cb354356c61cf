#!/bin/bash
# Run ONCE by the influxdb:2 image, right after its first-start setup (DOCKER_INFLUXDB_INIT_MODE=setup),
# from /docker-entrypoint-initdb.d (run-parts: the file must stay executable, mode 755 in git), after
# 10-dbrp.sh. The influx CLI's active config holds the operator (all-access) token at that point.
#
# Creates the two tokens the stack runs with, each allowed one thing on the one bucket, so neither
# the worker nor Grafana holds the operator token (which can delete buckets, users and tokens):
#   worker   --write-bucket: writes telemetry, dead letters and pipeline points; cannot read or delete
#   grafana  --read-bucket:  reads for the dashboards (InfluxQL through the DBRP mapping); cannot write
# Each token goes to the file "token" in its own folder, a volume shared with only that service
# (docker-compose.yml): the worker reads it as Influx:TokenFile, Grafana through deploy/grafana/entrypoint.sh.
# SMARTCITY_TOKENS_DIR (default /smartcity/tokens) is for the offline test that runs this script
# with a stand-in influx CLI.
set -euo pipefail

org="${DOCKER_INFLUXDB_INIT_ORG:?}"
bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?}"
# The image exports the new bucket's id to init scripts; the lookup is 10-dbrp.sh's fallback.
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:-$(influx bucket list --org "$org" --name "$bucket" --hide-headers | cut -f 1)}"
[[ -n "$bucket_id" ]] || { echo "20-tokens.sh: bucket '$bucket' not found in org '$org'" >&2; exit 1; }
tokens_dir="${SMARTCITY_TOKENS_DIR:-/smartcity/tokens}"

# create_token FOLDER DESCRIPTION PERMISSION: one token with PERMISSION (--write-bucket or
# --read-bucket) on the bucket, written to FOLDER/token. The token never reaches the log.
create_token() {
  local folder=$1 description=$2 permission=$3 json token
  json="$(influx auth create --org "$org" "$permission" "$bucket_id" --description "$description" --json)"
  token="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"token":[[:space:]]*"\([^"]*\)".*$/\1/p' | head -n 1)"
  if [[ -z "$token" ]]; then
    echo "20-tokens.sh: 'influx auth create $permission' answered no token" >&2
    exit 1
  fi
  mkdir -p "$folder"
  # Readable by the consuming container's own user (worker: 1654, Grafana: 472); only that
  # container mounts the folder.
  printf '%s' "$token" >"$folder/token.tmp"
  chmod 0444 "$folder/token.tmp"
  mv -f "$folder/token.tmp" "$folder/token"
  echo "20-tokens.sh: $description: written to $folder/token"
}

create_token "$tokens_dir/worker" "smartcity-worker: write bucket $bucket" --write-bucket
create_token "$tokens_dir/grafana" "grafana: read bucket $bucket" --read-bucket
