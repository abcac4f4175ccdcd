#!/usr/bin/env bash
# Installs node-llama-cpp (the `engine: llama` runtime) with only its CPU prebuilt binary for this
# platform, beside the project's own packages: in node_modules/.node-llama-cpp, linked as
# node_modules/node-llama-cpp. A plain `npm install node-llama-cpp` also works but brings every
# GPU variant of the binary (CUDA, Vulkan: hundreds of MB), and `--omit=optional` in the project
# itself would also remove other packages' native binaries (libsql's), hence the separate prefix.
# Only the Linux x64 binary is exercised by CI; the other platforms are mapped as node-llama-cpp names them.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) BINARY=linux-x64 ;;
  Linux-aarch64) BINARY=linux-arm64 ;;
  Darwin-arm64) BINARY=mac-arm64-metal ;;
  Darwin-x86_64) BINARY=mac-x64 ;;
  *) echo "no CPU prebuilt binary known for $(uname -s)-$(uname -m): run npm install node-llama-cpp@$VERSION" >&2; exit 1 ;;
esac
PREFIX=node_modules/.node-llama-cpp
mkdir -p "$PREFIX"
[ -f "$PREFIX/package.json" ] || echo '{"private":true}' > "$PREFIX/package.json"
npm install --prefix "$PREFIX" --omit=optional --no-audit --no-fund --no-package-lock \
  "node-llama-cpp@$VERSION" "@node-llama-cpp/$BINARY@$VERSION"
ln -sfn .node-llama-cpp/node_modules/node-llama-cpp node_modules/node-llama-cpp
echo "node-llama-cpp $VERSION installed (CPU binary @node-llama-cpp/$BINARY)"
