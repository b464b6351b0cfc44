#!/usr/bin/env bash
# Builds the Java example client into examples/java-client/target (classes, and its libraries in lib/),
# where tests/integration/test_clients_other_languages.py runs it. Needs Java 17+ and Maven; all
# downloads (Maven Central) happen here, never at test time.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "Java 17 and Maven are needed to build examples/java-client (Debian/Ubuntu: sudo apt-get install -y" \
       "openjdk-17-jdk-headless maven); the integration test of other languages fails without it" >&2
  exit 1
fi
mvn -B -q package -DskipTests
