#!/usr/bin/env bash
# The main job: installs the packages, builds crust (release preset) and runs
# a small local demo (scripts/demo.py): three crust-node processes on
# loopback with fresh key files connect (node 2 and 3 to node 1, node 3 to
# node 2), exchange messages and a file, disconnect and quit, printing what
# happens. Exits 0 only if every step worked.
#
# To drive a node yourself afterwards: build/release/apps/crust-node --help
# (docs/crust-node.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target crust-node
exec python3 scripts/demo.py build/release/apps/crust-node
