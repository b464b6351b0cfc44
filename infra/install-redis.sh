#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (the embedded stack runs it on loopback).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing redis-server with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # the package starts a system-wide redis on :6379; the mesh runs its own, so stop that one
  (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
else
  echo "redis-server is missing: install it (Debian/Ubuntu: sudo apt-get install -y redis-server;" \
       "macOS: brew install redis), or run against an external Redis with SWITCHBOARD_EMBEDDED=false" >&2
  exit 1
fi
