#!/usr/bin/env bash
# Writes event files with xgrad_log_fixture and decodes them with Debian's Python (the one with
# python3-protobuf and python3-pil, not a python3 earlier on PATH).
#   check_events.sh FIXTURE SOURCE_DIR WORK_DIR
set -euo pipefail
fixture=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work/events"
"$fixture" events "$work/events"
py=/usr/bin/python3
[[ -x $py ]] || py=python3
"$py" "$src/tests/io/decode_events.py" "$work/events" "$src" "$work/gen"
