#!/usr/bin/env bash
# Installs Debian's nodejs and npm when npm is missing: `make setup` installs the AsyncAPI JSON schemas
# (infra/asyncapi) and the TypeScript example client's packages with `npm ci`.
set -euo pipefail
if command -v npm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing nodejs and npm with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
else
  echo "npm is missing: install Node.js 18 or newer with npm (Debian/Ubuntu: sudo apt-get install -y nodejs npm;" \
       "macOS: brew install node)" >&2
  exit 1
fi
