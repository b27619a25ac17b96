#!/usr/bin/env bash
# Sets everything up and runs the default model (LeNet-300-100 trained on Fashion-MNIST, compressed with
# retraining) on the generated EIE engine under Verilator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p out
npx hwgen inspect models/fashion-mnist-lenet.hwb
npx hwgen report models/fashion-mnist-lenet.hwb -o out/fashion-mnist-lenet.html
npx tsx scripts/fashion-mnist.ts images out/fashion-mnist-8.npy 8
npx hwgen sim models/fashion-mnist-lenet.hwb --pes 4 --input out/fashion-mnist-8.npy -o out/fashion-mnist-scores.npy
npx tsx scripts/fashion-mnist.ts score out/fashion-mnist-scores.npy models/fashion-mnist-lenet.hwb
# The same model on a simulated board, driven as a real one is: weights over the link protocol, outputs checked.
npx hwgen build --target sim --pes 4 -o out/board --force
npx hwgen run --device sim:out/board --input out/fashion-mnist-8.npy
