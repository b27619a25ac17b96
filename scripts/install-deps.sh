#!/usr/bin/env bash
# Installs what hwgen needs on a Debian/Ubuntu machine: the HDL tools (Verilator, yosys, the iCE40 flow,
# iverilog), socat for pty pairs, a C++ toolchain for Verilator models, Python with numpy and onnx (the
# tests check our readers and writers against the real libraries), Chromium (the report's browser test), the
# Fashion-MNIST data, then the npm packages.
set -euo pipefail

APT_PACKAGES=(
  build-essential   # g++ and make: Verilator compiles models with them
  verilator         # RTL simulation and lint
  zlib1g-dev        # zlib.h: Verilator's FST waveform writer compiles against it
  yosys             # synthesis and resource estimates
  nextpnr-ice40     # iCE40 place and route
  fpga-icestorm     # icepack, icetime
  iverilog          # plain Verilog testbenches
  socat             # pty pairs for serial tests
  tcl               # tclsh: tests run the Vivado build scripts of the zynq and pcie targets against stubs
  procps            # pkill: a driver test kills the simulator in the middle of a transfer
  udev              # udevadm, which serialport's port listing calls
  python3-numpy     # tests: real .npy/.npz files
  python3-onnx      # tests: real .onnx files
  python3-scipy     # bench/compress-vs-numpy: scipy's kmeans2 is the baseline
  chromium          # tests: the HTML report opened in a headless browser (playwright-core drives it)
  dataset-fashion-mnist  # Fashion-MNIST as gzipped IDX files: training the default models, and the tests that run them
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
  fi
  echo "install-deps: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node itself is not Debian's (bookworm ships 18): hwgen needs 20.15 or later (zlib.crc32) from the machine or
# nodejs.org.
node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 15)' 2>/dev/null || echo false)
if [[ $node_ok != true ]]; then
  echo "install-deps: hwgen needs Node.js 20.15 or later with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
