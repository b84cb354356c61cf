#!/bin/sh
# Entrypoint of the compose Grafana (grafana/grafana-oss image; docker-compose.yml passes the
# image's own entrypoint, /run.sh, as arguments).
# 1. The InfluxDB token Grafana reads with is the READ-ONLY one that deploy/influxdb/init/20-tokens.sh
#    created on InfluxDB's first start (shared volume, file "token"); never the operator token.
#    The provisioned datasource (grafana/provisioning/datasources) expands it from SMARTCITY_INFLUX_TOKEN.
# 2. The admin password and that token must be real secrets: a missing one or a placeholder
#    (.env.example's change-me-...) stops the start, naming the setting (deploy/common/check-secrets.sh).
# 3. The dashboards (grafana/dashboards, importable: __inputs) are rendered for provisioning with the
#    city's time zone and currency (SMARTCITY_CITY_TIMEZONE, SMARTCITY_CITY_CURRENCY) into the folder
#    the provider reads (grafana/provisioning/dashboards/smartcity.yml), at every start.
set -eu

here=$(dirname "$0")
token_file=${SMARTCITY_INFLUX_TOKEN_FILE:-/run/smartcity/influx/token}
if [ ! -s "$token_file" ]; then
  echo "refusing to start: $token_file is missing or empty: the InfluxDB read token is written there on InfluxDB's first start (deploy/influxdb/init/20-tokens.sh); a database created before that script existed needs 'influx auth create --read-bucket ID' by hand, or 'docker compose down -v' to start over" >&2
  exit 78
fi
/bin/sh "$here/render-dashboards.sh" "${SMARTCITY_DASHBOARDS_SOURCE:-/smartcity/dashboards}" "${SMARTCITY_DASHBOARDS_RENDERED:-/var/lib/grafana/smartcity-dashboards}"
SMARTCITY_INFLUX_TOKEN=$(cat "$token_file")
export SMARTCITY_INFLUX_TOKEN
exec /bin/sh "$here/../common/check-secrets.sh" GF_SECURITY_ADMIN_PASSWORD SMARTCITY_INFLUX_TOKEN -- "$@"
