#!/usr/bin/env bash
# The main job: set up, build, and run one host with both plugins and the
# example flows. Ctrl-C stops it (drains and exits 0).
#   HTTP:  curl 'localhost:8080/hello?name=you'
#   gRPC:  build/host/tinyhost send --address 127.0.0.1:50051 --to printer.in --data '{"hi":1}'
#   admin: http://127.0.0.1:9090/ (the live flow page), /metrics, /status
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
FLOWS=(--flow examples/ticker/flow.yaml)
if [ -f examples/hello-http/flow.yaml ] && [ -f build/plugins/http-module.so ]; then
  FLOWS+=(--flow examples/hello-http/flow.yaml)
fi
exec build/host/tinyhost run --plugin-dir build/plugins "${FLOWS[@]}" --listen "${TINYHOST_LISTEN:-127.0.0.1:50051}" \
  --admin-listen "${TINYHOST_ADMIN_LISTEN:-127.0.0.1:9090}" "$@"
