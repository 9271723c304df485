#!/usr/bin/env bash
# Installs the Debian 12 packages tinyhost needs to build, test and run.
# Idempotent and quick when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev libboost-program-options-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libsimdjson-dev
  libssl-dev doctest-dev libbenchmark-dev
  python3 python3-grpcio python3-protobuf curl binutils openssl
  clang libclang-rt-14-dev
  python3-yaml yamllint
  # the admin listener (issue 14): metrics, the flow drawing, and the real
  # Prometheus and Chromium the tests run against it
  prometheus-cpp-dev libgraphviz-dev graphviz prometheus chromium python3-prometheus-client
  # bench/run.sh and bench/profile.sh (load generators, profilers)
  nghttp2-client wrk linux-perf valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
