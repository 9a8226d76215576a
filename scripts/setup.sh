#!/usr/bin/env bash
# Installs what mfnas needs on a fresh Debian machine with Node 20: system packages (when run
# as root with apt), then the locked npm dependencies, which also builds dist/ (npm "prepare").
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libdnnl-dev   # oneDNN: the optional native kernels (src/engine/addon); without it the wasm engine runs
  chromium      # headless browser that renders the HTML search report in its test
  redis-server  # the job queue of distributed scoring (mfnas worker, --queue); its tests start one
)

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
else
  echo "setup: not root or no apt-get; skipping system packages (${APT_PACKAGES[*]})" >&2
fi

# onnxruntime-node (dev dependency that checks the ONNX export)'s postinstall must not try to download CUDA files.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
