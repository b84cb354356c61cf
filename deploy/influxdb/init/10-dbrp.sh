#!/bin/bash
# Run ONCE by the influxdb:2 image, right after its first-start setup (DOCKER_INFLUXDB_INIT_MODE=setup),
# from /docker-entrypoint-initdb.d (run-parts: the file must stay executable, mode 755 in git).
# At that point the image has exported INFLUX_HOST and DOCKER_INFLUXDB_INIT_* (including
# DOCKER_INFLUXDB_INIT_BUCKET_ID), and the influx CLI's active config holds the admin token.
#
# Maps the InfluxQL database/retention policy smartcity/autogen to the bucket, so InfluxQL
# clients (Grafana's SmartCity datasource, /query) read the bucket the worker writes.
# InfluxDB 2.7 also serves a read-only "virtual" mapping for a bucket named like the database;
# the explicit one made here overrides it and keeps working if the bucket is ever renamed.
# A failure here makes the image wipe the fresh database and fail the container, so if the
# create fails but a mapping (virtual or not) already serves the database, that is accepted.
set -euo pipefail

org="${DOCKER_INFLUXDB_INIT_ORG:?}"
bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?}"
db="$bucket"
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:-}"
if [[ -z "$bucket_id" ]]; then
  bucket_id="$(influx bucket list --org "$org" --name "$bucket" --hide-headers | cut -f 1)"
fi
if [[ -z "$bucket_id" ]]; then
  echo "10-dbrp.sh: bucket '$bucket' not found in org '$org'" >&2
  exit 1
fi

if influx v1 dbrp create --org "$org" --db "$db" --rp autogen --bucket-id "$bucket_id" --default; then
  echo "10-dbrp.sh: mapped InfluxQL database '$db' (retention policy autogen) to bucket '$bucket' ($bucket_id)"
elif influx v1 dbrp list --org "$org" --db "$db" | grep -q "$bucket_id"; then
  echo "10-dbrp.sh: could not create the mapping, but one (possibly virtual) already maps '$db' to the bucket" >&2
else
  echo "10-dbrp.sh: no DBRP mapping for database '$db': InfluxQL queries (Grafana) will fail" >&2
  exit 1
fi
