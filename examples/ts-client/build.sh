#!/usr/bin/env bash
# Builds the TypeScript example client into examples/ts-client/dist (node_modules from the committed
# package-lock.json, then tsc), where tests/integration/test_clients_other_languages.py runs it with plain
# node. Needs Node.js 18+ and npm; all downloads (the npm registry) happen here, never at test time.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 18 or newer and npm are needed to build examples/ts-client (Debian/Ubuntu: sudo apt-get install -y" \
       "nodejs npm; or infra/install-node.sh); the integration test of other languages fails without it" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
