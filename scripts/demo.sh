#!/usr/bin/env bash
# The main job: installs the packages, builds crust (release preset) and runs
# the demo swarm with its defaults (apps/crust-swarm, docs/crust-swarm.md):
# eight crust-node processes on loopback; the first is the seed, the others
# bootstrap off it (a hard-coded contact), learn each other by gossip,
# connect to every other node and send each peer messages, with a live view
# on a terminal. Exits 0 only if the swarm fully connected and every message
# arrived within its budget.
#
# The three-node walk-through of crust-node's commands is scripts/demo.py;
# to drive a node yourself: build/release/apps/crust-node --help
# (docs/crust-node.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target crust-node crust-swarm
exec build/release/apps/crust-swarm/crust-swarm
