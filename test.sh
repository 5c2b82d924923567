#!/usr/bin/env bash
# Runs every test: unit, integration (real Azurite, started by the tests) and browser (headless Debian Chromium).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Debian's chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)." >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund
dotnet test Referrals.sln "$@"
