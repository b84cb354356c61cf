#!/usr/bin/env bash
# Kept for the first issue's notes and habits: the end-to-end benchmark is bench/run.sh now.
exec "$(dirname "$0")/run.sh" "$@"
