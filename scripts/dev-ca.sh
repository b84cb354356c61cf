#!/usr/bin/env bash
# scripts/dev-ca.sh DIR [NAME...] - a DEVELOPMENT certificate authority and a server certificate
# for the test/dev broker's TLS listener (never for production: the CA key lies beside it).
#
#   DIR/ca.crt       CA certificate (clients trust this: Mqtt:Tls:CaFile, mosquitto_pub --cafile)
#   DIR/ca.key       CA private key (mode 0600)
#   DIR/server.crt   server certificate for 127.0.0.1, ::1, localhost and every NAME given
#                    (DNS name, or IP address when it looks like one), signed by the CA
#   DIR/server.key   its private key (mode 0600)
#
# Idempotent: files that exist and still fit (server certificate signed by this CA, covering the
# names asked for, valid for at least one more day) are kept; otherwise they are made again.
# Every file is written to a temporary name first and renamed, so a reader never sees half a key.
# Needs openssl (1.1.1 or 3.x).
set -euo pipefail

die() { printf 'dev-ca.sh: ERROR: %s\n' "$*" >&2; exit 1; }

(($# >= 1)) || die "usage: scripts/dev-ca.sh DIR [NAME...]"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
DIR=$1
shift
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd -P)"
umask 077

DAYS_CA=3650
DAYS_SERVER=825   # the longest lifetime Apple/Chrome accept for a server certificate

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+=",IP:$name"; else san+=",DNS:$name"; fi
done

# A certificate $1 that will be valid for one more day.
fresh() { [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

if ! fresh "$DIR/ca.crt" || [[ ! -s $DIR/ca.key ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS_CA" \
    -subj "/O=SmartCity development/CN=SmartCity development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$DIR/ca.key.tmp" -out "$DIR/ca.crt.tmp" 2>/dev/null || die "could not make the CA"
  mv "$DIR/ca.key.tmp" "$DIR/ca.key"
  mv "$DIR/ca.crt.tmp" "$DIR/ca.crt"
  rm -f "$DIR/server.crt"   # signed by the old CA: make it again below
fi

server_fits() {
  fresh "$DIR/server.crt" && [[ -s $DIR/server.key ]] || return 1
  openssl verify -CAfile "$DIR/ca.crt" "$DIR/server.crt" >/dev/null 2>&1 || return 1
  local have want
  have=$(openssl x509 -in "$DIR/server.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
  for want in ${san//,/ }; do
    # openssl prints "IP Address:127.0.0.1" and "DNS:localhost"; ::1 as 0:0:0:0:0:0:0:1.
    case $want in
      IP:::1) want="IPAddress:0:0:0:0:0:0:0:1" ;;
      IP:*) want="IPAddress:${want#IP:}" ;;
    esac
    [[ ",$have," == *",$want,"* ]] || return 1
  done
}

if ! server_fits; then
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=SmartCity development/CN=localhost" \
    -keyout "$DIR/server.key.tmp" -out "$DIR/server.csr.tmp" 2>/dev/null || die "could not make the server key"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
    "$san" >"$DIR/server.ext.tmp"
  openssl x509 -req -in "$DIR/server.csr.tmp" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
    -CAserial "$DIR/ca.srl" -days "$DAYS_SERVER" -sha256 -extfile "$DIR/server.ext.tmp" \
    -out "$DIR/server.crt.tmp" 2>/dev/null || die "could not sign the server certificate"
  rm -f "$DIR/server.csr.tmp" "$DIR/server.ext.tmp"
  mv "$DIR/server.key.tmp" "$DIR/server.key"
  mv "$DIR/server.crt.tmp" "$DIR/server.crt"
fi
# Certificates are public; keys stay 0600 (umask).
chmod 0644 "$DIR/ca.crt" "$DIR/server.crt"
printf '%s\n' "$DIR/ca.crt"
