#!/usr/bin/env bash
# Real-kernel end-to-end test (see README, section e2e). Installs what it needs from Debian
# packages when run as root; python3 runs the rest (e2e/e2e.py --help).
set -euo pipefail
if ! command -v python3 >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 >/dev/null
    else
        echo "e2e: python3 is missing (apt-get install python3)" >&2; exit 2
    fi
fi
exec python3 "$(dirname "$0")/e2e.py" "$@"
