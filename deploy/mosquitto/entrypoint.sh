#!/bin/sh
# Entrypoint of the compose broker (eclipse-mosquitto:2, busybox sh, runs as root).
# Every start: writes the service accounts' HASHED passwords from the environment (no
# secret is committed or stored in an image) into the password file, rebuilds the ACL
# from the committed rules plus the device blocks, hands both to the mosquitto user,
# then replaces itself with mosquitto (which drops to that user and gets the signals).
# Device accounts (smartcity-provision, docs/security.md) live with the files on the
# data volume (/mosquitto/data/auth) and survive restarts.
set -eu

# Missing or placeholder (.env.example's change-me-...) passwords stop the start, naming the variable.
/bin/sh "$(dirname "$0")/../common/check-secrets.sh" MQTT_WORKER_PASSWORD MQTT_SIMULATOR_PASSWORD

conf_dir=/smartcity/mosquitto
run_dir=/mosquitto/run
auth_dir=/mosquitto/data/auth

umask 077
rm -rf "$run_dir"
mkdir -p "$run_dir"
# mosquitto reads the password and ACL files after dropping privileges: let its group in.
chown root:mosquitto "$run_dir"
chmod 0750 "$run_dir"

mkdir -p "$auth_dir"
[ -f "$auth_dir/passwd" ] || : >"$auth_dir/passwd"
# Usernames must match the acl file and the worker/simulator settings in docker-compose.yml.
# -b replaces an existing line of the user: the device lines stay as they are.
mosquitto_passwd -b "$auth_dir/passwd" smartcity-worker "$MQTT_WORKER_PASSWORD"
mosquitto_passwd -b "$auth_dir/passwd" simulator "$MQTT_SIMULATOR_PASSWORD"

# The health-check user gets a fresh random password each start; healthcheck.sh reads
# it from this root-only file.
health_password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
mosquitto_passwd -b "$auth_dir/passwd" smartcity-health "$health_password"
printf '%s' "$health_password" > "$run_dir/health-password"

# The committed rules (they may change between releases), then the device blocks that
# smartcity-provision appended to the previous file.
{
  cat "$conf_dir/acl"
  if [ -f "$auth_dir/acl" ]; then
    echo
    sed -n '/^# smartcity-provision begin /,/^# smartcity-provision end /p' "$auth_dir/acl"
  fi
} >"$auth_dir/acl.tmp"
mv "$auth_dir/acl.tmp" "$auth_dir/acl"
# mosquitto warns about (and future versions refuse) files that are not owned by it or
# are world-readable.
chown mosquitto:mosquitto "$auth_dir" "$auth_dir/passwd" "$auth_dir/acl"
chmod 0600 "$auth_dir/passwd" "$auth_dir/acl" "$run_dir/health-password"

# The persistence volume (mosquitto.db) must be writable by the mosquitto user.
mkdir -p /mosquitto/data
chown -R mosquitto:mosquitto /mosquitto/data

unset MQTT_WORKER_PASSWORD MQTT_SIMULATOR_PASSWORD health_password
exec mosquitto -c "$conf_dir/mosquitto.conf"
