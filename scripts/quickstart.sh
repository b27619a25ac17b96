#!/usr/bin/env bash
# Sets everything up and runs the main job on an example network.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p out
npx tsx scripts/make-example.ts out/lenet-300-100.npz
npx hwgen compress out/lenet-300-100.npz -o out/lenet.hwb --density 0.08 --bits 4 --pes 16 --report out/lenet-report.html
npx hwgen inspect out/lenet.hwb
npx hwgen export out/lenet.hwb -o out/lenet-decoded.npz
npx hwgen sim out/lenet.hwb --input out/lenet-300-100-input.npy -o out/lenet-output.npy
