#!/bin/sh
# Entrypoint of the compose InfluxDB (influxdb:2.7; docker-compose.yml passes the image's own
# entrypoint and command, /entrypoint.sh influxd, as arguments). Runs as root, before the image
# drops to its influxdb user:
# 1. The admin password and operator token must be real secrets: a missing one or a placeholder
#    (.env.example's change-me-...) stops the start, naming the setting.
# 2. The token folders (one volume each, shared with the worker and with Grafana) are handed to the
#    influxdb user, so deploy/influxdb/init/20-tokens.sh can write the worker's write token and
#    Grafana's read token there on the first start.
set -eu

/bin/sh "$(dirname "$0")/../common/check-secrets.sh" DOCKER_INFLUXDB_INIT_PASSWORD DOCKER_INFLUXDB_INIT_ADMIN_TOKEN
for folder in /smartcity/tokens/worker /smartcity/tokens/grafana; do
  mkdir -p "$folder"
  chown influxdb:influxdb "$folder"
  chmod 0755 "$folder"
done
exec "$@"
