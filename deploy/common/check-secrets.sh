#!/bin/sh
# Refuses to start a container whose secrets are missing or placeholders, then runs its program.
#
#   check-secrets.sh NAME... [-- PROGRAM ARG...]
#
# Each NAME is an environment variable holding a secret. One that is unset, empty or a
# placeholder (the "change-me-..." values of .env.example and their kind, below) stops the
# start with exit 78 (EX_CONFIG, as the worker) and one line per bad variable naming it, never
# showing its value. All good: exec PROGRAM ARG... (nothing to run: exit 0).
#
# Used by docker-compose.yml for the images we do not build (Grafana, mosquitto, InfluxDB), so
# `docker compose up` with the example's secrets stops at once instead of starting a city whose
# passwords every reader of the repository knows. The worker applies the same rules itself
# (src/SmartCity.Telemetry/Pipeline/SecretPlaceholders.cs); a test keeps the lists equal.
# POSIX sh + awk: it runs in busybox (mosquitto, Grafana) and Debian (InfluxDB) images alike.
set -eu

# A value is a placeholder when, without case and surrounding white space, it starts with a
# prefix, contains an infix, equals a word, is one character repeated 3+ times (xxxxxxxx),
# or a template slot (<token>, ${TOKEN}).
PLACEHOLDER_PREFIXES="change-me change_me changeme changeit replace-me replaceme your- your_"
PLACEHOLDER_INFIXES="placeholder"
PLACEHOLDER_WORDS="secret password passwd todo tbd fixme null none undefined example"

# is_placeholder VALUE: exit 0 when VALUE (non-empty) is a placeholder. The value travels in the
# environment, never on a command line (visible in ps) nor through awk -v (which unescapes it).
is_placeholder() {
  SC_VALUE=$1 SC_PREFIXES=$PLACEHOLDER_PREFIXES SC_INFIXES=$PLACEHOLDER_INFIXES SC_WORDS=$PLACEHOLDER_WORDS awk 'BEGIN {
    v = ENVIRON["SC_VALUE"]
    gsub(/^[ \t\r\n]+|[ \t\r\n]+$/, "", v)
    if (v == "") exit 0
    l = tolower(v); n = length(l); c = substr(l, 1, 1)
    if (n >= 3) { same = 1; for (i = 2; i <= n; i++) if (substr(l, i, 1) != c) { same = 0; break }; if (same) exit 0 }
    if ((c == "<" && substr(l, n, 1) == ">") || (substr(l, 1, 2) == "${" && substr(l, n, 1) == "}")) exit 0
    k = split(ENVIRON["SC_PREFIXES"], a, " "); for (i = 1; i <= k; i++) if (index(l, a[i]) == 1) exit 0
    k = split(ENVIRON["SC_INFIXES"], a, " "); for (i = 1; i <= k; i++) if (index(l, a[i]) > 0) exit 0
    k = split(ENVIRON["SC_WORDS"], a, " "); for (i = 1; i <= k; i++) if (l == a[i]) exit 0
    exit 1
  }'
}

bad=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  name=$1
  shift
  case $name in
    '' | [0-9]* | *[!A-Za-z0-9_]*) echo "check-secrets.sh: '$name' is not a variable name" >&2; exit 64 ;;
  esac
  eval "value=\${$name-}"
  if [ -z "$value" ]; then
    echo "refusing to start: $name is not set (copy .env.example to .env and set it)" >&2
    bad=1
  elif is_placeholder "$value"; then
    echo "refusing to start: $name is a placeholder (such as change-me from .env.example), not a secret: set a real one in .env, long and random (openssl rand -hex 32)" >&2
    bad=1
  fi
done
unset value
[ "$bad" -eq 0 ] || exit 78
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || exit 0
exec "$@"
