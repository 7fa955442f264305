#!/usr/bin/env bash
# GPU check (issue 12): on a machine with an NVIDIA GPU, CUDA 13 and cuDNN 9, builds the GPU flavour
# (-p:OnnxRuntimeFlavor=gpu), runs bench/Ceiling on the CUDA execution provider and one job end to end through the
# AppHost with a GPU worker (--gpus $DEVICE), and prints the figures. Anywhere else it stops at once with the reason.
#
# Usage: bash bench/gpu-check.sh    (env: DEVICE=0 MODELS="ocr-cls ocr-rec" DURATION=10 WARMUP=3
#                                          INPUT=tests/Engine.Tests/Fixtures/Ocr/line-001.png SKIP_BUILD=1)
# Exit codes: 0 checked, 1 a step failed, 3 this machine cannot run CUDA (the one line says why).
# The GPU build replaces the CPU one in */bin/Release: `dotnet build -c Release` without the property goes back.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${DEVICE:-0}
MODELS=${MODELS:-"ocr-cls ocr-rec"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
INPUT=${INPUT:-tests/Engine.Tests/Fixtures/Ocr/line-001.png}
REL=bin/Release/net10.0
OUT=.run/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)

log() { printf '[gpu-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cannot() { printf 'gpu-check: %s\n' "$*" >&2; exit 3; }

# ---- can this machine run CUDA at all? (cheap checks first, before any build) ----
command -v nvidia-smi >/dev/null || cannot "no NVIDIA driver here (nvidia-smi not found); run this on a machine with an NVIDIA GPU"
gpus=$(nvidia-smi -L 2>/dev/null || true)
[[ -n "$gpus" ]] || cannot "nvidia-smi lists no GPU (driver not loaded, or no device visible to this process)"
grep -q "^GPU $DEVICE:" <<<"$gpus" || cannot "no GPU $DEVICE (DEVICE=$DEVICE); nvidia-smi lists: $(tr '\n' ';' <<<"$gpus")"

# What ONNX Runtime 1.31's CUDA provider loads: the CUDA 13 runtime and cuBLAS, and cuDNN 9.
have_lib() {
  ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 " && return 0
  local dir
  IFS=: read -ra dirs <<<"${LD_LIBRARY_PATH:-}"
  for dir in "${dirs[@]}"; do [[ -n "$dir" && -e "$dir/$1" ]] && return 0; done
  return 1
}
missing=()
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9; do
  have_lib "$lib" || missing+=("$lib")
done
((${#missing[@]} == 0)) || cannot "CUDA 13 / cuDNN 9 libraries missing from the loader path: ${missing[*]} (install CUDA 13 + cuDNN 9, or use a CUDA 13 cuDNN runtime base image, or set LD_LIBRARY_PATH)"
for tool in dotnet curl jq; do command -v "$tool" >/dev/null || cannot "$tool is missing (bash scripts/setup.sh installs what the system needs)"; done
[[ -s models/ocr-cls/1/model.onnx ]] || cannot "the models are missing: run bash scripts/setup.sh first"

log "GPU $DEVICE: $(grep "^GPU $DEVICE:" <<<"$gpus")"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader >&2 || true
mkdir -p "$OUT"

# ---- the GPU flavour ----
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building the GPU flavour (Release, -p:OnnxRuntimeFlavor=gpu; the first restore fetches ~900 MB): AppHost and its services, Ceiling"
  for p in AppHost/AppHost.csproj bench/Ceiling/Ceiling.csproj; do
    dotnet build "$p" -c Release -p:OnnxRuntimeFlavor=gpu --nologo -v quiet >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; exit 1; }
  done
fi
[[ -n "$(find "Worker/$REL" -name libonnxruntime_providers_cuda.so -print -quit 2>/dev/null)" ]] \
  || { log "Worker/$REL has no libonnxruntime_providers_cuda.so: not the GPU flavour (drop SKIP_BUILD)"; exit 1; }

# ---- (a) the ceiling on CUDA ----
for m in $MODELS; do
  log "ceiling on cuda: $m, 1 runner, device $DEVICE, ${WARMUP}s + ${DURATION}s"
  dotnet bench/Ceiling/$REL/Ceiling.dll --model "$m" --models models --input "$INPUT" --runners 1 \
    --execution-provider cuda --device-id "$DEVICE" --duration "$DURATION" --warmup "$WARMUP" | tee "$OUT/ceiling-$m.txt" >&2
done

# ---- (b) one job end to end with a GPU worker ----
. scripts/lib.sh
trap apphost_stop EXIT
log "starting the AppHost with one GPU worker (--gpus $DEVICE)"
apphost_start "$REL" "$OUT/apphost.log" 240 --gateway-port 0 --gpus "$DEVICE"
# shellcheck disable=SC2086 # one argument per model
wait_for 180 models_ready $MODELS || { log "the GPU worker did not serve $MODELS; see $OUT/apphost.log"; exit 1; }
e2e_failed=0
for m in $MODELS; do
  log "one job through the system: $m on worker-gpu$DEVICE"
  start=$(date +%s%N)
  curl -s -X POST -H "Authorization: Bearer $ASPIRE_INFERENCE_API_KEY" --data-binary @"$INPUT" "${GATEWAY%/}/v1/models/$m/predict" >"$OUT/job-$m.json" || true
  wall=$(( ($(date +%s%N) - start) / 1000000 ))
  status=$(jq -r '.status // .code // "no answer"' "$OUT/job-$m.json" 2>/dev/null || echo "no answer")
  echo "job: model=$m status=$status wall_ms=$wall timings=$(jq -c '.timings // {}' "$OUT/job-$m.json" 2>/dev/null || echo '{}')"
  [[ "$status" == succeeded ]] || e2e_failed=1
done
apphost_stop

echo
echo "GPU check, $(date -u +%Y-%m-%dT%H:%MZ), GPU $DEVICE, input $INPUT (raw output in $OUT/)"
grep -h '^ceiling: ' "$OUT"/ceiling-*.txt || true
exit "$e2e_failed"
