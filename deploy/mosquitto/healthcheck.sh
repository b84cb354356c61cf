#!/bin/sh
# Compose health check of the broker: log in as the health user and read the retained
# $SYS/broker/uptime message. Proves the listener, authentication and ACLs work.
# Exit 0 = healthy. (mosquitto publishes $SYS every 10 s, so allow a start period.)
set -eu
password=$(cat /mosquitto/run/health-password)
# shellcheck disable=SC2016 # $SYS is a literal topic name
exec mosquitto_sub -h 127.0.0.1 -p 1883 -u smartcity-health -P "$password" \
  -i "smartcity-health-$$" -t '$SYS/broker/uptime' -C 1 -W 5 -q 0
