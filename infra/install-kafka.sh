#!/usr/bin/env bash
# Resolves Apache Kafka's jars from Maven Central into infra/kafka/libs (the embedded broker and
# Kafka's own tools run from there). Needs Java 17+ and Maven; where either is missing it says so
# and exits 0: the mesh then runs on the embedded tansu, and the Kafka half of the suite is refused.
set -euo pipefail
cd "$(dirname "$0")/kafka"
missing=()
command -v java >/dev/null 2>&1 || missing+=("Java 17 or newer (Debian: apt-get install -y openjdk-17-jre-headless)")
command -v mvn >/dev/null 2>&1 || missing+=("Maven (Debian: apt-get install -y maven)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'Apache Kafka not installed: missing %s. The embedded stack uses tansu instead.\n' "${missing[*]}" >&2
  exit 0
fi
stamp="libs/.resolved-$(sha256sum pom.xml | cut -c1-16)"
[ -f "$stamp" ] && exit 0
rm -rf libs
echo "resolving Apache Kafka's jars from Maven Central into infra/kafka/libs" >&2
mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs
touch "$stamp"
