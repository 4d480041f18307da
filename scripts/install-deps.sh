#!/usr/bin/env bash
# Installs every Debian 12 package that crust's build, tests, fuzzers and
# benchmarks need. Idempotent; runs apt-get update first. Uses sudo when not
# run as root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake g++ clang libclang-rt-14-dev clang-format clang-tidy
  pkg-config git
  # libraries (design.md: the stack)
  libcaf-dev libasio-dev libssl-dev libminiupnpc-dev libnatpmp-dev
  libboost-test-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  # tests and tools
  python3 iproute2 nftables procps
  # the NAT lab (tests/netlab): the real UPnP IGD / NAT-PMP daemon; this
  # package ships only the binary (no service, no debconf questions)
  miniupnpd-nftables
  # optional baselines of crust-bench rudp's namespace section (UDT, SRT,
  # ENet); benchmark-only: CMake builds them when found
  libudt-dev libsrt-openssl-dev libenet-dev
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: not root and no sudo; run as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
