#!/usr/bin/env bash
# scripts/run.sh [--seconds N] - run the main job locally (README's "run" command):
#   mosquitto + InfluxDB 1.x + nginx shim (scripts/servers.sh, run dir under /tmp)
#   -> database "smartcity" -> the worker (src/SmartCity.Worker)
#   -> the simulated city (simulators/scenarios/demo-city.json: street lights, cabinets, classrooms,
#      doors, cameras, alarm panels, with scheduled faults) publishing into the broker.
# Prints where to watch the data, then one status line every 10 s. Ctrl-C stops everything in
# order: simulator, worker (SIGINT, bounded wait), servers.
#   --seconds N   stop by itself after N seconds (smoke test); exit code 1 if the worker died or
#                 no point reached InfluxDB.
# Logs: artifacts/run-logs/ (worker.log, simulator.log, server logs), kept after exit.
# SMARTCITY_KEEP_RUN_DIR=1 keeps the temp run dir (InfluxDB data) too.
# shellcheck disable=SC2317  # shellcheck 0.9 thinks code after start_bg's `exec` is unreachable
set -euo pipefail

# ---- simulator command line: ADJUST HERE if the simulator's CLI changes ------------------------
# Called with the broker host and port; must set SIM_ARGS (the args after `dotnet run ... --`).
# One line from the worker's counters: what came in, what was stored, what was refused.
pipeline_summary() {
  curl -s --max-time 2 -H "Authorization: Bearer $API_KEY" "http://127.0.0.1:${WORKER_PORT}/api/pipeline" 2>/dev/null \
    | tr -d ' \n' \
    | sed -E 's/.*"received":([0-9]+).*"rejected":([0-9]+).*"pointsWritten":([0-9]+).*"deadLettersWritten":([0-9]+).*"spoolDepth":([0-9]+).*/received \1, points written \3, rejected \2 (dead letters \4), spool \5/' \
    || echo "worker counters unavailable"
}

simulator_args() {
  # Yesterday replayed in two minutes (every device, every scheduled fault), then live at real time.
  SIM_ARGS=(scenario simulators/scenarios/demo-city.json --host "$1" --port "$2" --live)
}
# What the status line counts (InfluxQL, database smartcity): points of the last minute.
# All time, not the last minute: the demo replays yesterday first, so device timestamps lie in the past.
STATUS_QUERY='SELECT count(power_w) FROM street_light'
# -----------------------------------------------------------------------------------------------

WORKER_PROJECT=src/SmartCity.Worker
SIMULATOR_PROJECT=simulators/SmartCity.Simulators
DATABASE=smartcity
STATUS_EVERY=10          # seconds between status lines
WORKER_STOP_TIMEOUT=30   # seconds for the worker to drain and exit after SIGINT
SIM_STOP_TIMEOUT=10

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SERVERS="$REPO_ROOT/scripts/servers.sh"
LOG_KEEP_DIR="$REPO_ROOT/artifacts/run-logs"
cd "$REPO_ROOT"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

SECONDS_LIMIT=0
while (($#)); do
  case $1 in
    --seconds) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--seconds needs a number"; SECONDS_LIMIT=$2; shift 2 ;;
    --seconds=*) SECONDS_LIMIT=${1#*=}; [[ $SECONDS_LIMIT =~ ^[0-9]+$ ]] || die "--seconds needs a number"; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: scripts/run.sh [--seconds N])" ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

# ---- build once, so both `dotnet run --no-build` start fast -------------------------------------
for project in "$WORKER_PROJECT" "$SIMULATOR_PROJECT"; do
  [[ -d $project ]] || die "$project not found"
  say "building $project (Release)"
  dotnet build -c Release "$project" -v quiet -nologo || die "build of $project failed"
done

RUN_DIR="$(mktemp -d /tmp/smartcity-run.XXXXXX)"
WORKER_PID="" SIM_PID=""
STOP_REQUESTED=0

# Start "$@" in the background in its own process group (setsid) with SIGINT at its default.
# Own group: a terminal Ctrl-C reaches only this script, which then stops things in order.
# SIGINT default: bash starts background commands with SIGINT ignored (and .NET keeps it
# ignored, so no graceful Ctrl-C shutdown); `trap - INT` cannot undo that when this script
# itself was started in the background, GNU env --default-signal (coreutils >= 8.31) can.
# Sets REPLY to its pid (= its process group id).
RESET_SIGINT=()
if env --default-signal=INT true 2>/dev/null; then RESET_SIGINT=(env --default-signal=INT); fi
start_bg() { # logfile cmd...
  local logfile=$1
  shift
  (trap - INT QUIT; exec setsid "${RESET_SIGINT[@]}" "$@") </dev/null >>"$logfile" 2>&1 &
  REPLY=$!
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

wait_gone() { # pid timeout
  local deadline=$((SECONDS + $2))
  while alive "$1" && ((SECONDS < deadline)); do sleep 0.2; done
  ! alive "$1"
}

# SIGINT to the whole group (`dotnet run` AND the app it runs), like Ctrl-C in a terminal;
# then SIGTERM (also a graceful stop for a .NET host), SIGKILL as the last resort.
stop_group() { # name pid timeout
  local name=$1 pid=$2 timeout=$3
  [[ -n $pid ]] || return 0
  if ! alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || true   # e.g. the app, if only `dotnet run` died
    return 0
  fi
  say "stopping $name (SIGINT)"
  kill -INT -- "-$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    say "$name still running after ${timeout}s: SIGTERM"
    kill -TERM -- "-$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 5; then
      say "$name still running: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_group simulator "$SIM_PID" "$SIM_STOP_TIMEOUT"
  stop_group worker "$WORKER_PID" "$WORKER_STOP_TIMEOUT"
  say "stopping servers"
  "$SERVERS" stop "$RUN_DIR" 2>/dev/null || true
  rm -rf "$LOG_KEEP_DIR"
  mkdir -p "$LOG_KEEP_DIR"
  cp -f "$RUN_DIR"/logs/* "$LOG_KEEP_DIR/" 2>/dev/null || true
  if [[ ${SMARTCITY_KEEP_RUN_DIR:-0} == 1 ]]; then say "run dir kept: $RUN_DIR"; else rm -rf "$RUN_DIR"; fi
  say "stopped; logs in $LOG_KEEP_DIR"
  exit "$rc"
}
trap cleanup EXIT
# Only note the request here; the main loop notices within a second and exits cleanly (0).
trap 'STOP_REQUESTED=1' INT TERM

# ---- servers + database ------------------------------------------------------------------------
say "starting servers in $RUN_DIR"
"$SERVERS" start "$RUN_DIR" >/dev/null || die "servers did not start (logs: $RUN_DIR/logs)"
set -a
# shellcheck disable=SC1091  # written by servers.sh at run time
. "$RUN_DIR/servers.env"
set +a
((STOP_REQUESTED == 0)) || exit 0
MQTT_PORT=$SMARTCITY_TEST_MQTT_PORT
INFLUX_URL=$SMARTCITY_TEST_INFLUX_URL

if [[ $SMARTCITY_TEST_INFLUX_KIND == v1 ]]; then
  reply=$(curl -sS --max-time 10 -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE $DATABASE") ||
    die "CREATE DATABASE $DATABASE failed"
  [[ $reply != *'"error"'* ]] || die "CREATE DATABASE $DATABASE: $reply"
else
  say "external InfluxDB ($SMARTCITY_TEST_INFLUX_KIND): bucket '$DATABASE' must already exist"
fi

# ---- worker ------------------------------------------------------------------------------------
WORKER_PORT=$("$SERVERS" free-port)
WORKER_URL="http://127.0.0.1:$WORKER_PORT"
WORKER_LOG="$RUN_DIR/logs/worker.log"
SIM_LOG="$RUN_DIR/logs/simulator.log"
say "starting worker on $WORKER_URL (log: $LOG_KEEP_DIR/worker.log after exit, $WORKER_LOG now)"
# SMARTCITY_Urls too: an appsettings.json "Urls" entry overrides ASPNETCORE_URLS, the
# SMARTCITY_ environment variables override appsettings.json.
# Spool in the run dir: its default (data/spool) is relative to the project folder (dotnet run's
# working directory) and would replay an old run's messages into this run's fresh InfluxDB.
# The operator API needs a key: a fresh operator key for this run, handed over as a secret file
# (never in the worker's environment or logs) and printed below for you to use.
API_KEY=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
API_KEY_FILE="$RUN_DIR/operator-api-key"
(umask 077 && printf '%s\n' "$API_KEY" >"$API_KEY_FILE")
# The operator console (/console): a demo operator account for this run, made with the worker's own
# bootstrap command (password on stdin), in console-users.json beside the run's alert state.
CONSOLE_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$CONSOLE_PASSWORD" | dotnet "$WORKER_PROJECT/bin/Release/net10.0/SmartCity.Worker.dll" \
  console add-user --name operator --role operator --users-file "$RUN_DIR/console-users.json" >/dev/null ||
  die "could not create the console's demo account"
start_bg "$WORKER_LOG" env \
  SMARTCITY_Api__Keys__0__Name=operator \
  SMARTCITY_Api__Keys__0__Role=operator \
  SMARTCITY_Api__Keys__0__KeyFile="$API_KEY_FILE" \
  SMARTCITY_Mqtt__Host=127.0.0.1 \
  SMARTCITY_Mqtt__Port="$MQTT_PORT" \
  SMARTCITY_Mqtt__Username="$SMARTCITY_TEST_MQTT_WORKER_USERNAME" \
  SMARTCITY_Mqtt__Password="$SMARTCITY_TEST_MQTT_WORKER_PASSWORD" \
  SMARTCITY_Influx__Url="$INFLUX_URL" \
  SMARTCITY_Influx__Token="$SMARTCITY_TEST_INFLUX_TOKEN" \
  SMARTCITY_Influx__Org="$SMARTCITY_TEST_INFLUX_ORG" \
  SMARTCITY_Influx__Bucket="$DATABASE" \
  ASPNETCORE_URLS="$WORKER_URL" \
  SMARTCITY_Urls="$WORKER_URL" \
  SMARTCITY_Spool__Directory="$RUN_DIR/worker-spool" \
  SMARTCITY_Registry__File="$RUN_DIR/worker-registry.json" \
  SMARTCITY_Alerting__StateFile="$RUN_DIR/worker-alerts.json" \
  SMARTCITY_Lighting__StateFile="$RUN_DIR/worker-lighting.json" \
  dotnet run -c Release --no-build --project "$WORKER_PROJECT"
WORKER_PID=$REPLY

# Ready when its status endpoint answers (bounded); a worker without it only gets a warning.
deadline=$((SECONDS + 60))
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $API_KEY" "$WORKER_URL/api/pipeline" || true) == 200 ]]; do
  if ! alive "$WORKER_PID"; then
    tail -n 40 "$WORKER_LOG" >&2 || true
    die "worker exited during start-up"
  fi
  ((STOP_REQUESTED == 0)) || exit 0
  if ((SECONDS >= deadline)); then
    say "WARNING: $WORKER_URL/api/pipeline does not answer 200 after 60s; going on"
    break
  fi
  sleep 0.5
done

# ---- simulator ---------------------------------------------------------------------------------
simulator_args 127.0.0.1 "$MQTT_PORT"
say "starting simulator: ${SIM_ARGS[*]}"
# The broker has no anonymous access: the simulator logs in as the demo gateway account (write
# city/#), by environment so the password stays out of `ps`.
start_bg "$SIM_LOG" env \
  SMARTCITY_SIM_MQTT_USERNAME="$SMARTCITY_TEST_MQTT_SIMULATOR_USERNAME" \
  SMARTCITY_SIM_MQTT_PASSWORD="$SMARTCITY_TEST_MQTT_SIMULATOR_PASSWORD" \
  dotnet run -c Release --no-build --project "$SIMULATOR_PROJECT" -- "${SIM_ARGS[@]}"
SIM_PID=$REPLY

cat <<EOF

=== SmartCity is running$( ((SECONDS_LIMIT > 0)) && echo " for ${SECONDS_LIMIT}s" || echo " - Ctrl-C to stop") ===
  console       : $WORKER_URL/console  (log in as operator / $CONSOLE_PASSWORD, this run only; docs/console.md)
  operator key  : $API_KEY  (role operator, this run only; also in $API_KEY_FILE)
  worker status : curl -s -H "Authorization: Bearer $API_KEY" $WORKER_URL/api/pipeline
  rejected msgs : curl -s -H "Authorization: Bearer $API_KEY" $WORKER_URL/api/rejections
  open alerts   : curl -s -H "Authorization: Bearer $API_KEY" '$WORKER_URL/api/alerts?state=open'
  acknowledge   : curl -s -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \\
                    -d '{"comment":"on my way"}' $WORKER_URL/api/alerts/ALERT_ID/acknowledge
  API reference : $WORKER_URL/openapi/v1.json, docs/operator-api.md
  InfluxQL query: curl -sG '$INFLUX_URL/query' --data-urlencode db=$DATABASE --data-urlencode 'q=$STATUS_QUERY'
  raw MQTT      : (. $RUN_DIR/servers.env; mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u harness -P "\$SMARTCITY_TEST_MQTT_PASSWORD" -t '#' -v)
  over TLS      : add --cafile $RUN_DIR/tls/ca.crt and use port $SMARTCITY_TEST_MQTT_TLS_PORT
  logs          : $WORKER_LOG
                  $SIM_LOG
                  $RUN_DIR/logs/ (mosquitto, influxdb, nginx)

EOF

# ---- status loop -------------------------------------------------------------------------------
points_last_minute() {
  local json
  json=$(curl -sG --max-time 5 "$INFLUX_URL/query" --data-urlencode "db=$DATABASE" \
           --data-urlencode "q=$STATUS_QUERY" 2>/dev/null) || { echo "? (query failed)"; return; }
  # {"results":[{"statement_id":0,"series":[{...,"values":[["1970-01-01T00:00:00Z",1234]]}]}]}
  if [[ $json =~ \"values\":\[\[\"[^\"]*\",([0-9]+)\]\] ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $json == *'"error"'* ]]; then
    echo "? ($json)"
  else
    echo 0
  fi
}

started=$SECONDS next_status=$((SECONDS + STATUS_EVERY)) rc=0 last_count=0 sim_reported=0
while ((STOP_REQUESTED == 0)); do
  if ! alive "$WORKER_PID"; then
    say "ERROR: the worker exited; last lines of its log:"
    tail -n 40 "$WORKER_LOG" || true
    rc=1
    break
  fi
  if ! alive "$SIM_PID" && ((sim_reported == 0)); then
    say "WARNING: the simulator exited; last lines of its log:"
    tail -n 20 "$SIM_LOG" || true
    sim_reported=1
  fi
  if ((SECONDS >= next_status)); then
    last_count=$(points_last_minute)
    say "street-light points stored: $last_count | $(pipeline_summary) | worker $(alive "$WORKER_PID" && echo up || echo DOWN) | simulator $(alive "$SIM_PID" && echo up || echo DOWN)"
    next_status=$((next_status + STATUS_EVERY))
  fi
  if ((SECONDS_LIMIT > 0 && SECONDS - started >= SECONDS_LIMIT)); then
    last_count=$(points_last_minute)
    say "--seconds $SECONDS_LIMIT reached; street-light points stored: $last_count | $(pipeline_summary)"
    if ! [[ $last_count =~ ^[0-9]+$ ]] || ((last_count == 0)); then
      say "ERROR: no point reached InfluxDB"
      rc=1
    fi
    break
  fi
  sleep 1 &
  wait $! || true   # `wait` returns at once on INT/TERM, `sleep` alone would not
done
exit "$rc"
