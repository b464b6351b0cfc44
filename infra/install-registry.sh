#!/usr/bin/env bash
# Builds Apicurio Registry from Maven Central into infra/registry/target (see infra/registry/pom.xml): the
# schema registry the tests of the Confluent wire format start (infra/schema_registry.py). Needs Java 17+
# and Maven; where either is missing it says so and exits 0, and those tests fail saying what to install.
set -euo pipefail
cd "$(dirname "$0")/registry"
missing=()
command -v java >/dev/null 2>&1 || missing+=("Java 17 or newer (Debian: apt-get install -y openjdk-17-jre-headless)")
command -v mvn >/dev/null 2>&1 || missing+=("Maven (Debian: apt-get install -y maven)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'Apicurio Registry not installed: missing %s.\n' "${missing[*]}" >&2
  exit 0
fi
stamp="target/.built-$(cat pom.xml $(find src -type f | sort) | sha256sum | cut -c1-16)"
[ -f "$stamp" ] && exit 0
rm -rf target
echo "building Apicurio Registry from Maven Central into infra/registry/target" >&2
mvn -q -B -Dstyle.color=never package
touch "$stamp"
