#!/usr/bin/env bash
# scripts/servers.sh - the real servers SmartCity's tests and dev run talk to:
#   mosquitto  MQTT broker                        (infra/mosquitto.conf.template, infra/mosquitto.acl;
#              no anonymous access; a plain and a TLS listener, certificates by scripts/dev-ca.sh)
#   influxdb   influxd, InfluxDB 1.x              (infra/influxdb.conf.template)
#   nginx      InfluxDB 2.x write-API shim in front of influxd
#                                                 (infra/nginx-influx-v2.conf.template)
# Each runs in the background with its own config, bound to 127.0.0.1 on free ports chosen
# at start, with everything (configs, data, logs, pids) under one per-run folder RUN_DIR.
# No systemd involved, nothing outside RUN_DIR is written (except apt-get installs as root).
#
# Usage: scripts/servers.sh COMMAND RUN_DIR
#   start RUN_DIR              install missing packages (root) or explain (non-root), start all
#                              servers, wait until ready, write RUN_DIR/servers.env (mode 0600)
#                              and print its path on stdout: never its content, which holds
#                              the broker passwords (a CI log or a terminal recording keeps
#                              whatever is printed)
#   stop RUN_DIR               stop everything started in RUN_DIR (idempotent, never fails)
#   status RUN_DIR             one line per server; exit 0 if all are running, 3 otherwise
#   start-SERVER RUN_DIR       (re)start one server on the SAME port with the same data, wait ready
#   stop-SERVER RUN_DIR        stop one server (SIGTERM; mosquitto saves its sessions on TERM)
#   kill-SERVER RUN_DIR        SIGKILL one server (crash: mosquitto keeps only its last autosave)
#   pause-SERVER RUN_DIR       SIGSTOP one server (a hung server: clients time out)
#   resume-SERVER RUN_DIR      SIGCONT
#   reload-mosquitto RUN_DIR   SIGHUP: mosquitto re-reads its password and ACL files
#   SERVER is mosquitto, influxdb or nginx.
#   free-port                  print a free loopback TCP port (as chosen for the servers)
#
# servers.env (KEY=VALUE lines; `set -a; . RUN_DIR/servers.env; set +a` exports them):
#   SMARTCITY_TEST_MQTT_HOST, SMARTCITY_TEST_MQTT_PORT, SMARTCITY_TEST_MQTT_TLS_PORT,
#   SMARTCITY_TEST_MQTT_CA_FILE (the dev CA that signed the TLS listener's certificate),
#   SMARTCITY_TEST_MQTT_USERNAME/_PASSWORD (account `harness`: every right, for tests and tools),
#   SMARTCITY_TEST_MQTT_WORKER_USERNAME/_PASSWORD (`smartcity-worker`: only the worker's rights),
#   SMARTCITY_TEST_MQTT_SIMULATOR_USERNAME/_PASSWORD (`simulator`: writes city/#),
#   SMARTCITY_TEST_MQTT_PASSWORD_FILE, SMARTCITY_TEST_MQTT_ACL_FILE (for provisioning devices),
#   SMARTCITY_TEST_INFLUX_URL (v2 write API +
#   InfluxQL /query + /ping), SMARTCITY_TEST_INFLUX_TOKEN, SMARTCITY_TEST_INFLUX_ORG,
#   SMARTCITY_TEST_INFLUX_KIND (v1 = local influxd 1.x behind the nginx shim; v2/v3 = external),
#   SMARTCITY_TEST_SERVERS_SCRIPT, SMARTCITY_TEST_RUN_DIR.
# If SMARTCITY_TEST_INFLUX_URL is already set (an existing InfluxDB 2.x/3.x, together with
# SMARTCITY_TEST_INFLUX_TOKEN and SMARTCITY_TEST_INFLUX_ORG), influxd and nginx are not started
# and those values are passed through (KIND defaults to v2 then).
#
# Environment knobs: SMARTCITY_SERVERS_START_TIMEOUT (s per server, default 40),
#                    SMARTCITY_SERVERS_STOP_TIMEOUT (s before SIGKILL, default 15).
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd -P)"
INFRA_DIR="$REPO_ROOT/infra"

# Debian installs the daemons in /usr/sbin, which is not on a normal user's PATH.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# 40 s: tests that restart a server give servers.sh 60 s in total.
START_TIMEOUT="${SMARTCITY_SERVERS_START_TIMEOUT:-40}"
STOP_TIMEOUT="${SMARTCITY_SERVERS_STOP_TIMEOUT:-15}"
SERVERS=(mosquitto influxdb nginx)
# Attempts for a FIRST start: a free port can be taken by someone else between our check and
# the server's bind(); then we pick another port. Restarts must keep their port: no retry.
BIND_ATTEMPTS=5

log() { printf 'servers.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '/^# Usage:/,/^#   free-port/p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Run dir layout
# ---------------------------------------------------------------------------------------------
init_run_dir() { # dir create(1|0)
  local dir=$1
  if [[ $2 == 1 ]]; then
    mkdir -p "$dir"
  elif [[ ! -d $dir ]]; then
    return 1   # stop/status of a run dir that does not exist: nothing to do
  fi
  RUN_DIR="$(cd "$dir" && pwd -P)"
  # The path goes verbatim into three config syntaxes and a sed replacement: keep it plain.
  [[ $RUN_DIR =~ ^[A-Za-z0-9._/+@,:=-]+$ ]] ||
    die "RUN_DIR '$RUN_DIR' has characters the server configs cannot take (use [A-Za-z0-9._/+@,:=-])"
  STATE_FILE="$RUN_DIR/servers.state"
  ENV_FILE="$RUN_DIR/servers.env"
  [[ $2 == 1 ]] || return 0
  mkdir -p "$RUN_DIR"/{conf,logs,pids,tls,mosquitto/data,influxdb/meta,influxdb/data,influxdb/wal} \
           "$RUN_DIR"/nginx/tmp/{body,proxy,fastcgi,uwsgi,scgi}
}

# Ports etc. of this run, for restarts on the same port. Written only by this script.
save_state() {
  cat >"$STATE_FILE.tmp" <<EOF
MQTT_PORT=${MQTT_PORT:-}
MQTT_TLS_PORT=${MQTT_TLS_PORT:-}
INFLUX_HTTP_PORT=${INFLUX_HTTP_PORT:-}
INFLUX_RPC_PORT=${INFLUX_RPC_PORT:-}
NGINX_PORT=${NGINX_PORT:-}
INFLUX_EXTERNAL=${INFLUX_EXTERNAL:-0}
EOF
  mv "$STATE_FILE.tmp" "$STATE_FILE"
}

load_state() {
  [[ -f $STATE_FILE ]] || die "$RUN_DIR was never started (no servers.state): run 'servers.sh start $RUN_DIR' first"
  # shellcheck disable=SC1090  # our own file
  . "$STATE_FILE"
}

# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------
# "command:Debian package". curl is needed for readiness checks (and by run.sh).
REQUIRED_MQTT=(mosquitto:mosquitto curl:curl)
REQUIRED_INFLUX=(influxd:influxdb nginx:nginx-light)
OPTIONAL=(mosquitto_sub:mosquitto-clients influx:influxdb-client)  # handy for people, not used here
# docker-compose (Debian 1.29): the Grafana tests validate docker-compose.yml with `docker-compose config`
# (no Docker engine needed); installed with the rest when run as root, e.g. in CI.
OPTIONAL+=(docker-compose:docker-compose)
# promtool (Debian's prometheus package): the observability tests check the worker's /metrics with
# `promtool check metrics`.
OPTIONAL+=(promtool:prometheus)
# kubectl (Debian's kubernetes-client): KubernetesManifestTests render deploy/kubernetes with `kubectl kustomize`.
OPTIONAL+=(kubectl:kubernetes-client)
# Debian's chromium and a font for it: the operator console's browser tests drive it (no browser download).
OPTIONAL+=(chromium:chromium)
# Node.js (Debian's nodejs): PeerNodeRedTests run the bench's Node-RED flow functions with `node`.
OPTIONAL+=(node:nodejs)

ensure_packages() {
  local want=("${REQUIRED_MQTT[@]}") missing=() optional_missing=() pair
  [[ ${INFLUX_EXTERNAL:-0} == 1 ]] || want+=("${REQUIRED_INFLUX[@]}")
  command -v setsid >/dev/null || die "setsid (util-linux) not found"
  for pair in "${want[@]}"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  for pair in "${OPTIONAL[@]}"; do command -v "${pair%%:*}" >/dev/null || optional_missing+=("${pair#*:}"); done
  [[ -d /usr/share/fonts/truetype/liberation ]] || optional_missing+=(fonts-liberation)  # a font, no command to look for

  if ((${#missing[@]} + ${#optional_missing[@]} == 0)); then return 0; fi
  if [[ $EUID -ne 0 ]]; then
    if ((${#missing[@]} > 0)); then
      die "missing packages: ${missing[*]}. Install them as root:
    sudo apt-get update && sudo apt-get install -y mosquitto mosquitto-clients influxdb influxdb-client nginx-light curl"
    fi
    log "note: optional client tools missing (${optional_missing[*]}); sudo apt-get install -y ${optional_missing[*]}"
    return 0
  fi

  local pkgs=("${missing[@]}" "${optional_missing[@]}") apt_log="$RUN_DIR/logs/apt-get.log"
  log "installing ${pkgs[*]} with apt-get (log: $apt_log)"
  # Lock::Timeout: wait for another apt/dpkg (e.g. an image's first-boot update) instead of
  # failing at once. Services are not started by the packages here (no systemd); even if a
  # package's init script did start one, it would use the default ports, not ours.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  if ! { "${apt[@]}" update -qq &&
         DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${pkgs[@]}"; } \
       >>"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install ${pkgs[*]} failed"
  fi
  for pair in "${want[@]}"; do
    command -v "${pair%%:*}" >/dev/null || die "${pair%%:*} still missing after installing ${pair#*:}"
  done
}

# ---------------------------------------------------------------------------------------------
# Ports: read the kernel's socket tables (no python, no ss needed; works for any user)
# ---------------------------------------------------------------------------------------------
# Any TCP socket (IPv4/IPv6, any state, incl. TIME_WAIT and outgoing) using local port $1?
port_in_use() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Does process $2 hold a socket in LISTEN state (0A) on local port $1? Checking the owner
# matters: another program listening on a recycled port must not pass for our server.
listening_by() {
  local hex inode inodes
  hex=$(printf ':%04X' "$1")
  inodes=$(awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
             /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  for inode in $inodes; do
    find "/proc/$2/fd" -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null | grep -q . && return 0
  done
  return 1
}

PICKED_PORTS=" "
# Sets REPLY to a random free port BELOW the kernel's ephemeral range (so outgoing connections
# never sit on it and a fixed restart port stays ours), never one already picked in this run.
pick_port() {
  local eph_lo eph_hi lo hi p i
  read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
  if ((eph_lo > 12000)); then lo=10000; hi=$((eph_lo - 1)); else lo=$((eph_hi + 1)); hi=65535; fi
  for ((i = 0; i < 500; i++)); do
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    [[ $PICKED_PORTS == *" $p "* ]] && continue
    port_in_use "$p" && continue
    PICKED_PORTS+="$p "
    REPLY=$p
    return 0
  done
  die "no free TCP port found in $lo-$hi"
}

# ---------------------------------------------------------------------------------------------
# Processes. Every server is started with setsid: it leads its own session and process group,
# so (a) a Ctrl-C in the terminal reaches only the caller, whose trap stops the servers in
# order, and (b) we can signal the whole group (nginx master + workers) at once.
# ---------------------------------------------------------------------------------------------
pid_file() { echo "$RUN_DIR/pids/$1.pid"; }

# The leader pid of server $1 if it is alive and really ours (its command line names our conf
# dir: a recycled pid is never mistaken for it; a zombie has an empty command line).
server_pid() {
  local f pid cmd
  f=$(pid_file "$1")
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *"$RUN_DIR/conf/"* ]] || return 1
  REPLY=$pid
}

is_running() { server_pid "$1"; }

# Any non-zombie process left in process group $1? (kill -0 also "succeeds" on zombies, which
# pile up in containers whose PID 1 does not reap.)
group_alive() {
  local pgid=$1 f line fields
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    read -r -a fields <<<"${line##*) }"   # after "pid (comm) ": state ppid pgrp ...
    [[ ${fields[0]} != Z && ${fields[2]} == "$pgid" ]] && return 0
  done
  return 1
}

# Send signal $2 to server $1's process group; sets REPLY to the group id, fails if none.
signal_server() {
  local name=$1 sig=$2 pgid
  if server_pid "$name"; then
    pgid=$REPLY
  else
    # Leader gone but maybe its children (nginx workers) are not: the kernel never reuses a pid
    # that is still some group's id, so a live group with the recorded id is ours.
    [[ -s $(pid_file "$name") ]] || return 1
    pgid=$(<"$(pid_file "$name")")
    [[ $pgid =~ ^[0-9]+$ ]] && group_alive "$pgid" || return 1
  fi
  kill -s "$sig" -- "-$pgid" 2>/dev/null || true
  REPLY=$pgid
}

wait_group_exit() { # pgid timeout_s
  local deadline=$((SECONDS + $2))
  while group_alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Stop servers "$@": SIGTERM all first (they shut down in parallel), then wait for each,
# SIGKILL as the last resort. Never fails.
stop_servers() {
  local name pgid
  local -A groups=()
  for name in "$@"; do
    if signal_server "$name" TERM; then
      groups[$name]=$REPLY
      kill -s CONT -- "-$REPLY" 2>/dev/null || true   # a paused server must run to see the TERM
    fi
  done
  for name in "$@"; do
    pgid=${groups[$name]:-}
    if [[ -n $pgid ]]; then
      if ! wait_group_exit "$pgid" "$STOP_TIMEOUT"; then
        log "$name did not stop within ${STOP_TIMEOUT}s: SIGKILL"
        kill -s KILL -- "-$pgid" 2>/dev/null || true
        wait_group_exit "$pgid" 5 || log "WARNING: $name (process group $pgid) still alive after SIGKILL"
      fi
      log "$name stopped"
    fi
    rm -f "$(pid_file "$name")"
  done
}

# Log files of a server (what we print when it fails).
server_logs() {
  case $1 in
    mosquitto) echo "$RUN_DIR/logs/mosquitto.log $RUN_DIR/logs/mosquitto.out" ;;
    influxdb) echo "$RUN_DIR/logs/influxdb.log" ;;
    nginx) echo "$RUN_DIR/logs/nginx-error.log $RUN_DIR/logs/nginx.out" ;;
  esac
}

print_log_tail() {
  local f
  for f in $(server_logs "$1"); do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n "${2:-30}" "$f" >&2
  done
}

# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------
render() { # template output KEY=VALUE...  (values are plain: RUN_DIR is checked, ports are digits)
  local tpl="$INFRA_DIR/$1" out="$RUN_DIR/conf/$2" kv args=()
  shift 2
  [[ -f $tpl ]] || die "template $tpl not found"
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$tpl" >"$out.tmp"
  if grep -n '@[A-Z_]*@' "$out.tmp" >&2; then die "unrendered placeholder in $out"; fi
  mv "$out.tmp" "$out"
}

render_config() {
  case $1 in
    mosquitto)
      local user_line="# user: not root - mosquitto keeps the invoking user"
      [[ $EUID -eq 0 ]] && user_line="user root"
      render mosquitto.conf.template mosquitto.conf RUN_DIR="$RUN_DIR" MQTT_PORT="$MQTT_PORT" \
        MQTT_TLS_PORT="$MQTT_TLS_PORT" MOSQUITTO_USER_LINE="$user_line" ;;
    influxdb)
      render influxdb.conf.template influxdb.conf RUN_DIR="$RUN_DIR" \
        INFLUX_HTTP_PORT="$INFLUX_HTTP_PORT" INFLUX_RPC_PORT="$INFLUX_RPC_PORT" ;;
    nginx)
      local user_line="# user: not root - workers keep the invoking user"
      [[ $EUID -eq 0 ]] && user_line="user root root;"
      render nginx-influx-v2.conf.template nginx.conf RUN_DIR="$RUN_DIR" NGINX_PORT="$NGINX_PORT" \
        INFLUX_HTTP_PORT="$INFLUX_HTTP_PORT" NGINX_USER_LINE="$user_line" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Launch + readiness
# ---------------------------------------------------------------------------------------------
launch() {
  local name=$1 out argv
  case $name in
    mosquitto) out="$RUN_DIR/logs/mosquitto.out"; argv=(mosquitto -c "$RUN_DIR/conf/mosquitto.conf") ;;
    influxdb)  out="$RUN_DIR/logs/influxdb.log";  argv=(influxd run -config "$RUN_DIR/conf/influxdb.conf") ;;
    nginx)     out="$RUN_DIR/logs/nginx.out"
               argv=(nginx -p "$RUN_DIR/nginx/" -e "$RUN_DIR/logs/nginx-error.log" -c "$RUN_DIR/conf/nginx.conf") ;;
  esac
  printf '=== %s servers.sh: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${argv[*]}" >>"$out"
  # stdin/stdout/stderr all redirected: a caller reading our output to EOF (e.g. a C# test that
  # runs 'servers.sh start-mosquitto') must not wait for the server to exit.
  # A non-interactive bash runs '&' jobs in its own process group, so setsid (no fork) execs
  # the server with $! as its pid, session id and process-group id.
  setsid "${argv[@]}" </dev/null >>"$out" 2>&1 &
  echo "$!" >"$(pid_file "$name")"
}

http_code() { # url -> status code, 000 when nothing answers
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

# Ready = our process listens on its port AND answers. nginx is only "ready" with influxd
# behind it.
probe() {
  local pid
  server_pid "$1" || return 1
  pid=$REPLY
  case $1 in
    mosquitto) listening_by "$MQTT_PORT" "$pid" && listening_by "$MQTT_TLS_PORT" "$pid" ;;
    influxdb) listening_by "$INFLUX_HTTP_PORT" "$pid" &&
              [[ $(http_code "http://127.0.0.1:$INFLUX_HTTP_PORT/ping") == 204 ]] ;;
    nginx)
      listening_by "$NGINX_PORT" "$pid" || return 1
      local code
      code=$(http_code "http://127.0.0.1:$NGINX_PORT/ping")
      # 503 = nginx is up but influxd is down on purpose (start-nginx during a fault test).
      [[ $code == 204 || ($code == 503 && ${PROBE_INFLUX_OPTIONAL:-0} == 1) ]] ;;
  esac
}

# Wait for server $1 to be ready (bounded). Returns 1 if it is not, 2 if it died of a port
# collision (caller may retry with another port).
wait_ready() {
  local name=$1 deadline=$((SECONDS + START_TIMEOUT)) f
  while ! probe "$name"; do
    if ! is_running "$name"; then
      sleep 0.2   # let it finish writing its last log line
      for f in $(server_logs "$name"); do
        [[ -f $f ]] && tail -n 20 "$f" | grep -qi 'address already in use' && return 2
      done
      log "$name exited during start-up"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 0.1
  done
}

port_desc() {
  case $1 in
    mosquitto) echo "mqtt://127.0.0.1:$MQTT_PORT mqtts://127.0.0.1:$MQTT_TLS_PORT" ;;
    influxdb) echo "http://127.0.0.1:$INFLUX_HTTP_PORT (rpc $INFLUX_RPC_PORT)" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT -> influxdb :$INFLUX_HTTP_PORT" ;;
  esac
}

# Start server $1 and wait until ready. new_ports=1: first start, choose (and on a collision
# re-choose) its ports; 0: restart on the recorded ports.
start_server() {
  local name=$1 new_ports=$2 attempt rc t0=$SECONDS
  if is_running "$name"; then
    log "$name already running (pid $REPLY)"
    wait_ready "$name" || { print_log_tail "$name"; return 1; }
    return 0
  fi
  for ((attempt = 1; attempt <= BIND_ATTEMPTS; attempt++)); do
    if ((new_ports)); then
      case $name in
        mosquitto) pick_port; MQTT_PORT=$REPLY; pick_port; MQTT_TLS_PORT=$REPLY ;;
        influxdb) pick_port; INFLUX_HTTP_PORT=$REPLY; pick_port; INFLUX_RPC_PORT=$REPLY ;;
        nginx) pick_port; NGINX_PORT=$REPLY ;;
      esac
    fi
    render_config "$name"
    launch "$name"
    rc=0; wait_ready "$name" || rc=$?
    if ((rc == 0)); then
      log "$name ready on $(port_desc "$name") (pid $(<"$(pid_file "$name")"), $((SECONDS - t0))s)"
      return 0
    fi
    stop_servers "$name"
    if ((rc == 2 && new_ports)); then
      log "$name: port taken meanwhile, trying other ports"
      continue
    fi
    break
  done
  print_log_tail "$name"
  ((rc == 2)) && log "$name: its port is in use by another process"
  return 1
}

# ---------------------------------------------------------------------------------------------
# servers.env
# ---------------------------------------------------------------------------------------------
env_line() { # KEY VALUE: plain values unquoted (easy to parse anywhere), others single-quoted
  if [[ $2 =~ ^[A-Za-z0-9_./:=+@%,-]*$ ]]; then
    printf '%s=%s\n' "$1" "$2"
  else
    printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"
  fi
}

write_env() {
  local url token org kind
  if [[ $INFLUX_EXTERNAL == 1 ]]; then
    url=$SMARTCITY_TEST_INFLUX_URL token=$SMARTCITY_TEST_INFLUX_TOKEN org=$SMARTCITY_TEST_INFLUX_ORG
    kind=${SMARTCITY_TEST_INFLUX_KIND:-v2}
  else
    url="http://127.0.0.1:$NGINX_PORT" token=dev-token-ignored-by-1x org=smartcity kind=v1
  fi
  {
    echo "# Written by scripts/servers.sh start. Load with: set -a; . $ENV_FILE; set +a"
    env_line SMARTCITY_TEST_MQTT_HOST 127.0.0.1
    env_line SMARTCITY_TEST_MQTT_PORT "$MQTT_PORT"
    env_line SMARTCITY_TEST_MQTT_TLS_PORT "$MQTT_TLS_PORT"
    env_line SMARTCITY_TEST_MQTT_CA_FILE "$RUN_DIR/tls/ca.crt"
    env_line SMARTCITY_TEST_MQTT_USERNAME harness
    env_line SMARTCITY_TEST_MQTT_PASSWORD "$HARNESS_PASSWORD"
    env_line SMARTCITY_TEST_MQTT_WORKER_USERNAME smartcity-worker
    env_line SMARTCITY_TEST_MQTT_WORKER_PASSWORD "$WORKER_PASSWORD"
    env_line SMARTCITY_TEST_MQTT_SIMULATOR_USERNAME simulator
    env_line SMARTCITY_TEST_MQTT_SIMULATOR_PASSWORD "$SIMULATOR_PASSWORD"
    env_line SMARTCITY_TEST_MQTT_PASSWORD_FILE "$RUN_DIR/mosquitto/passwd"
    env_line SMARTCITY_TEST_MQTT_ACL_FILE "$RUN_DIR/mosquitto/acl"
    env_line SMARTCITY_TEST_INFLUX_URL "$url"
    env_line SMARTCITY_TEST_INFLUX_TOKEN "$token"
    env_line SMARTCITY_TEST_INFLUX_ORG "$org"
    env_line SMARTCITY_TEST_INFLUX_KIND "$kind"
    env_line SMARTCITY_TEST_SERVERS_SCRIPT "$SCRIPT_PATH"
    env_line SMARTCITY_TEST_RUN_DIR "$RUN_DIR"
  } >"$ENV_FILE.tmp"
  chmod 0600 "$ENV_FILE.tmp"   # it holds the broker passwords
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------------------------
# Broker accounts and TLS (fresh start only: restarts keep them, so clients keep working)
# ---------------------------------------------------------------------------------------------
random_password() { od -An -tx1 -N18 /dev/urandom | tr -d ' \n'; }

# Password file with three accounts (random passwords, kept only in servers.env), the ACL, and
# the development CA + server certificate for the TLS listener.
make_broker_security() {
  command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (Debian package mosquitto)"
  local dir="$RUN_DIR/mosquitto" passwd
  HARNESS_PASSWORD=$(random_password)
  WORKER_PASSWORD=$(random_password)
  SIMULATOR_PASSWORD=$(random_password)
  passwd="$dir/passwd"
  # umask 077: mosquitto warns about password/ACL files others can read.
  (
    umask 077
    rm -f "$passwd.tmp"
    : >"$passwd.tmp"
    mosquitto_passwd -b "$passwd.tmp" harness "$HARNESS_PASSWORD"
    mosquitto_passwd -b "$passwd.tmp" smartcity-worker "$WORKER_PASSWORD"
    mosquitto_passwd -b "$passwd.tmp" simulator "$SIMULATOR_PASSWORD"
    mv "$passwd.tmp" "$passwd"
    cp "$INFRA_DIR/mosquitto.acl" "$dir/acl.tmp"
    mv "$dir/acl.tmp" "$dir/acl"
  ) || die "could not write the broker's password and ACL files"
  "$REPO_ROOT/scripts/dev-ca.sh" "$RUN_DIR/tls" >/dev/null || die "could not make the development CA (scripts/dev-ca.sh)"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
managed_servers() { # servers this run dir runs itself
  if [[ ${INFLUX_EXTERNAL:-0} == 1 ]]; then echo mosquitto; else echo mosquitto influxdb nginx; fi
}

cmd_start() {
  local t0=$SECONDS name
  for name in "${SERVERS[@]}"; do
    is_running "$name" && die "$name is already running in $RUN_DIR (pid $REPLY): 'servers.sh stop $RUN_DIR' first"
  done
  INFLUX_EXTERNAL=0
  if [[ -n ${SMARTCITY_TEST_INFLUX_URL:-} ]]; then
    [[ -n ${SMARTCITY_TEST_INFLUX_TOKEN:-} && -n ${SMARTCITY_TEST_INFLUX_ORG:-} ]] ||
      die "SMARTCITY_TEST_INFLUX_URL is set (external InfluxDB) but SMARTCITY_TEST_INFLUX_TOKEN or SMARTCITY_TEST_INFLUX_ORG is not"
    INFLUX_EXTERNAL=1
    log "SMARTCITY_TEST_INFLUX_URL is set: using the external InfluxDB at $SMARTCITY_TEST_INFLUX_URL, not starting influxd/nginx"
  fi
  ensure_packages
  rm -f "$ENV_FILE"
  make_broker_security
  save_state
  # Stop what did start if a later server fails, so a failed start leaves nothing running.
  for name in $(managed_servers); do
    if ! start_server "$name" 1; then
      save_state
      stop_servers "${SERVERS[@]}"
      die "could not start $name (logs: $RUN_DIR/logs)"
    fi
    save_state
  done
  write_env
  log "all servers ready in $((SECONDS - t0))s; load the environment with: set -a; . $ENV_FILE; set +a"
  # Only where the file is: its values include the broker passwords.
  printf '%s\n' "$ENV_FILE"
}

cmd_stop() {
  # Reverse dependency order is not needed for correctness (TERM goes to all at once).
  stop_servers nginx influxdb mosquitto
}

cmd_status() {
  local name all=0 state
  if [[ -f $STATE_FILE ]]; then load_state; else INFLUX_EXTERNAL=0; fi
  for name in "${SERVERS[@]}"; do
    if [[ $INFLUX_EXTERNAL == 1 && $name != mosquitto ]]; then
      printf '%-10s external (%s)\n' "$name" "${SMARTCITY_TEST_INFLUX_URL:-see servers.env}"
      continue
    fi
    if is_running "$name"; then
      state="running  pid $REPLY"
      if grep -q '^State:[[:space:]]*T' "/proc/$REPLY/status" 2>/dev/null; then
        state+=" (paused)"; all=1
      fi
      printf '%-10s %s  %s\n' "$name" "$state" "$(port_desc "$name")"
    else
      printf '%-10s stopped\n' "$name"
      all=1
    fi
  done
  return $((all ? 3 : 0))
}

# start-/stop-/kill-/pause-/resume-SERVER
cmd_one() {
  local action=$1 name=$2
  case $action in
    start | pause | resume | reload) load_state ;;
    *) if [[ -f $STATE_FILE ]]; then load_state; else INFLUX_EXTERNAL=0; fi ;;  # stop/kill never fail
  esac
  if [[ $INFLUX_EXTERNAL == 1 && $name != mosquitto ]]; then
    log "ERROR: InfluxDB is external here (SMARTCITY_TEST_INFLUX_KIND=${SMARTCITY_TEST_INFLUX_KIND:-v2}); servers.sh cannot $action it"
    exit 4
  fi
  case $action in
    start)
      [[ $name == nginx ]] && ! is_running influxdb && PROBE_INFLUX_OPTIONAL=1
      start_server "$name" 0 || die "could not restart $name on its port"
      # Through the shim too, so the caller can write as soon as we return.
      if [[ $name == influxdb ]] && is_running nginx; then
        wait_ready nginx || { print_log_tail nginx; die "nginx does not reach influxdb"; }
      fi ;;
    stop) stop_servers "$name" ;;
    kill)
      if signal_server "$name" KILL; then
        wait_group_exit "$REPLY" 10 || log "WARNING: $name still alive after SIGKILL"
        log "$name killed"
      fi
      rm -f "$(pid_file "$name")" ;;
    pause) signal_server "$name" STOP || die "$name is not running"; log "$name paused" ;;
    reload)
      [[ $name == mosquitto ]] || die "only mosquitto can be reloaded"
      signal_server "$name" HUP || die "$name is not running"
      log "$name: SIGHUP sent (re-reads its password and ACL files)" ;;
    resume) signal_server "$name" CONT || die "$name is not running"; log "$name resumed" ;;
  esac
}

main() {
  if [[ ${1:-} == free-port && $# == 1 ]]; then
    pick_port
    echo "$REPLY"
    return 0
  fi
  (($# == 2)) || usage
  local cmd=$1 dir=$2
  case $cmd in
    start) init_run_dir "$dir" 1; cmd_start ;;
    stop) init_run_dir "$dir" 0 && cmd_stop; exit 0 ;;
    status)
      if ! init_run_dir "$dir" 0; then
        log "$dir does not exist"
        exit 3
      fi
      cmd_status ;;
    start-* | stop-* | kill-* | pause-* | resume-* | reload-*)
      local name=${cmd#*-}
      [[ " ${SERVERS[*]} " == *" $name "* ]] || usage
      init_run_dir "$dir" 0 || die "$dir does not exist"
      cmd_one "${cmd%%-*}" "$name" ;;
    *) usage ;;
  esac
}

main "$@"
