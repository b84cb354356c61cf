#!/bin/sh
# Renders the importable dashboards (grafana/dashboards/*.json: __inputs, a datasource variable,
# no fixed datasource uid) for Grafana's file provisioning, which does not fill __inputs: it
# replaces each ${INPUT} as Grafana's own import does, with the city's settings.
#
#   render-dashboards.sh SOURCE_DIR TARGET_DIR
#
# Environment (defaults in brackets):
#   SMARTCITY_CITY_TIMEZONE   [Europe/Amsterdam]  IANA zone, the worker's Alerting:TimeZone -> VAR_TIMEZONE
#   SMARTCITY_CITY_CURRENCY   [EUR]               ISO 4217 code -> VAR_CURRENCY (units, tariff label)
#   SMARTCITY_GRAFANA_DATASOURCE          [smartcity-influxdb]  uid of the raw-data datasource -> DS_INFLUXDB
#   SMARTCITY_GRAFANA_ROLLUPS_DATASOURCE  [smartcity-rollups]   uid of the rollup datasource  -> DS_ROLLUPS
# Each file is written to a temporary name and renamed, so Grafana never reads half a dashboard.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR TARGET_DIR" >&2
  exit 64
fi
src=$1
dst=$2
tz=${SMARTCITY_CITY_TIMEZONE:-Europe/Amsterdam}
currency=${SMARTCITY_CITY_CURRENCY:-EUR}
ds=${SMARTCITY_GRAFANA_DATASOURCE:-smartcity-influxdb}
rollups=${SMARTCITY_GRAFANA_ROLLUPS_DATASOURCE:-smartcity-rollups}

# The values go into JSON strings and sed replacements: only characters that need no escaping.
case "$tz" in
  '' | *[!A-Za-z0-9_+/-]*) echo "render-dashboards: SMARTCITY_CITY_TIMEZONE '$tz' is not an IANA time zone id (such as Europe/Amsterdam)" >&2; exit 78 ;;
esac
case "$currency" in
  [A-Z][A-Z][A-Z]) ;;
  *) echo "render-dashboards: SMARTCITY_CITY_CURRENCY '$currency' is not an ISO 4217 code (three capitals, such as EUR)" >&2; exit 78 ;;
esac
for uid in "$ds" "$rollups"; do
  case "$uid" in
    '' | *[!A-Za-z0-9_-]*) echo "render-dashboards: datasource uid '$uid' must be letters, digits, '-' or '_'" >&2; exit 78 ;;
  esac
done

mkdir -p "$dst"
rendered=0
for file in "$src"/*.json; do
  [ -e "$file" ] || continue
  name=$(basename "$file")
  # The ${...} are literal text in the files (Grafana's input placeholders), not shell expansions.
  # shellcheck disable=SC2016
  sed -e 's|\${DS_INFLUXDB}|'"$ds"'|g' \
      -e 's|\${DS_ROLLUPS}|'"$rollups"'|g' \
      -e 's|\${VAR_TIMEZONE}|'"$tz"'|g' \
      -e 's|\${VAR_CURRENCY}|'"$currency"'|g' \
      "$file" >"$dst/.$name.tmp"
  mv -f "$dst/.$name.tmp" "$dst/$name"
  rendered=$((rendered + 1))
done
echo "render-dashboards: $rendered dashboards rendered into $dst (time zone $tz, currency $currency)"
