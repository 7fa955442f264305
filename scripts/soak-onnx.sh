#!/usr/bin/env bash
# Soak test of Engine.Onnx over the ONNX Runtime package: 10,000 Run calls on models/ocr-cls, printing VmRSS before and after.
# Usage: scripts/soak-onnx.sh            (SOAK_RUNS=N to change the count)
set -euo pipefail
cd "$(dirname "$0")/.."

export SOAK_RUNS="${SOAK_RUNS:-10000}"
rm -f artifacts/onnx-soak.txt
dotnet test tests/Engine.Tests --filter "Category=Soak" --nologo
cat artifacts/onnx-soak.txt
