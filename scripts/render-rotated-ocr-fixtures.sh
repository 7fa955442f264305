#!/usr/bin/env bash
# Makes the upside-down page fixture in tests/Engine.Tests/Fixtures/OcrRotated from the rendered OCR fixtures
# (scripts/render-ocr-fixtures.sh): page-1.png turned 180°. Its text is page-1.png's lines, read last line first.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/tests/Engine.Tests/Fixtures/Ocr"
out="$root/tests/Engine.Tests/Fixtures/OcrRotated"
command -v convert >/dev/null || { echo "imagemagick's convert is required" >&2; exit 1; }

mkdir -p "$out"
convert "$src/page-1.png" -rotate 180 -type TrueColor -strip "PNG24:$out/page-1-upside-down.png"
echo "wrote $out/page-1-upside-down.png"
