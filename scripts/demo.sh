#!/usr/bin/env bash
# The main job: installs the packages, builds crust and starts a crust-node
# on the embedded default network. It prints its peer id and the TCP port it
# listens on (random), then serves until you type "quit" or press Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target crust-node
exec build/release/apps/crust-node "$@"
