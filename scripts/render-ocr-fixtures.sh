#!/usr/bin/env bash
# Renders the OCR test fixtures into tests/Engine.Tests/Fixtures/Ocr with ImageMagick and the DejaVu fonts:
# 40 text lines (PNG; JPEG and WebP copies of the first 10), 3 multi-line pages (PNG, JPEG, WebP),
# 5 upside-down lines, and truth.json (file -> text or lines). Text comes from a fixed-seed generator,
# so a re-run reproduces the same texts; nothing is hand-picked.
#
# A held-out set (to check that a setting chosen on the committed fixtures generalises) is the same script with
# another seed into another directory, e.g.
#   SEED=4242 PAGES=20 LINES=20 UPS=20 OUT=/tmp/ocr-heldout-4242 bash scripts/render-ocr-fixtures.sh
# and is read by OcrHeldOutEvaluation (OCR_HELDOUT_DIR=/tmp/ocr-heldout-4242). The defaults render the committed set.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$root/tests/Engine.Tests/Fixtures/Ocr}"
line_count=${LINES:-40}
page_count=${PAGES:-3}
upside_down_count=${UPS:-5}
(( upside_down_count <= line_count )) || { echo "UPS ($upside_down_count) must not exceed LINES ($line_count)" >&2; exit 1; }
fonts=/usr/share/fonts/truetype/dejavu
command -v convert >/dev/null || { echo "imagemagick's convert is required" >&2; exit 1; }
[[ -f "$fonts/DejaVuSans.ttf" ]] || { echo "fonts-dejavu is required ($fonts)" >&2; exit 1; }

font_files=(DejaVuSans DejaVuSans-Bold DejaVuSans-Oblique DejaVuSerif DejaVuSerif-Bold DejaVuSerif-Italic DejaVuSansMono DejaVuSansMono-Bold)
words=(account address amount balance blue bridge budget calendar chapter city cloud coffee company
  copy daily delivery design early energy evening garden green harbor history hotel invoice island
  kitchen letter market meeting morning mountain music north number office order paper payment
  people quarter quick record report river road school second service simple station storage
  street summer table ticket total train travel valley water weekly window winter yellow)
months=(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)

# A 31-bit linear congruential generator: the same sequence on every machine and bash version.
seed=${SEED:-20240117}
rand() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); r=$(( (seed >> 8) % $1 )); }
pick() { local -n list=$1; rand ${#list[@]}; picked=${list[$r]}; }
number() { rand $(( $2 - $1 + 1 )); n=$(( $1 + r )); }
capitalize() { capitalized="$(tr '[:lower:]' '[:upper:]' <<<"${1:0:1}")${1:1}"; }

phrase() { # $1 words
  local i text=""
  for (( i = 0; i < $1; i++ )); do pick words; text+="${text:+ }$picked"; done
  capitalize "$text"; phrase="$capitalized"
}

line_text() {
  rand 8
  case $r in
    0) number 1000 9999; local a=$n; number 1 999; local b; b=$(printf %03d "$n"); number 1 9; local th=$n
       number 0 999; local h; h=$(printf %03d "$n"); number 0 99; local c; c=$(printf %02d "$n")
       text="Invoice #$a-$b: \$$th,$h.$c" ;;
    1) phrase 3; local p=$phrase; number 2019 2026; local y=$n; number 1 12; local m; m=$(printf %02d "$n")
       number 1 28; local d; d=$(printf %02d "$n"); text="$p, due $y-$m-$d." ;;
    2) number 10000 99999; local o=$n; number 2 9; text="Order $o shipped ($n items)" ;;
    3) phrase 4; text="$phrase" ;;
    4) pick months; local mo=$picked; number 1 28; local d=$n; number 1 12; local hh=$n; number 0 59
       text="Meeting on $mo $d at $hh:$(printf %02d "$n") in room $(( d * 7 % 90 + 10 ))" ;;
    5) pick words; local w=$picked; number 1 99; local q=$n; number 1 99; text="Total: $q.$(printf %02d "$n") per $w" ;;
    6) phrase 2; local p=$phrase; number 100 999; local a=$n; number 1000 9999; text="$p - call +1 $a-$n" ;;
    7) phrase 5; text="$phrase!" ;;
  esac
}

# label: expands %-escapes; double the percent signs so text renders literally.
render() { # font size text file [extra convert options]
  local font=$1 size=$2 text=$3 file=$4; shift 4
  convert -background white -fill black -font "$fonts/$font.ttf" -pointsize "$size" \
    label:"${text//%/%%}" -bordercolor white -border 10x8 "$@" -type TrueColor -strip "PNG24:$file"
}

json_escape() { local s=${1//\\/\\\\}; json=${s//\"/\\\"}; }

# Only what this script writes: the directory may hold other files (the committed one holds OcrFixtureTests.cs).
rm -f "$out"/*.png "$out"/*.jpg "$out"/*.webp "$out"/truth.json
mkdir -p "$out"
entries=()
declare -a texts

for (( i = 1; i <= line_count; i++ )); do
  line_text
  pick font_files; font=$picked
  number 20 40; size=$n
  name=$(printf line-%03d "$i")
  texts[i]=$text
  render "$font" "$size" "$text" "$out/$name.png"
  json_escape "$text"
  entries+=("\"$name.png\": { \"text\": \"$json\", \"font\": \"$font\", \"size\": $size }")
  if (( i <= 10 )); then
    convert "$out/$name.png" -type TrueColor -quality 92 "$out/$name.jpg"
    convert "$out/$name.png" -quality 90 "$out/$name.webp"
    entries+=("\"$name.jpg\": { \"text\": \"$json\", \"font\": \"$font\", \"size\": $size }")
    entries+=("\"$name.webp\": { \"text\": \"$json\", \"font\": \"$font\", \"size\": $size }")
  fi
done

for (( p = 1; p <= page_count; p++ )); do
  number 3 6; count=$n
  pick font_files; font=$picked
  number 22 28; size=$n
  lines=() body=""
  for (( k = 0; k < count; k++ )); do
    # Keep each line short enough for an 800 px page at this size.
    while :; do line_text; (( ${#text} <= 36 )) && break; done
    lines+=("$text"); body+="${body:+$'\n'}$text"
  done
  name="page-$p"
  convert -background white -fill black -font "$fonts/$font.ttf" -pointsize "$size" -interline-spacing 14 \
    label:"${body//%/%%}" -gravity northwest -bordercolor white -border 40x40 -background white -extent 800x \
    -type TrueColor -strip "PNG24:$out/$name.png"
  convert "$out/$name.png" -type TrueColor -quality 92 "$out/$name.jpg"
  convert "$out/$name.png" -quality 90 "$out/$name.webp"
  quoted=()
  for l in "${lines[@]}"; do json_escape "$l"; quoted+=("\"$json\""); done
  joined=$(IFS=,; echo "${quoted[*]}")
  for ext in png jpg webp; do
    entries+=("\"$name.$ext\": { \"lines\": [${joined//\",\"/\", \"}], \"font\": \"$font\", \"size\": $size }")
  done
done

for (( u = 1; u <= upside_down_count; u++ )); do
  src=$(printf line-%03d "$u")
  convert "$out/$src.png" -rotate 180 -type TrueColor -strip "PNG24:$out/upside-down-$u.png"
  json_escape "${texts[u]}"
  entries+=("\"upside-down-$u.png\": { \"text\": \"$json\", \"angle\": 180, \"source\": \"$src.png\" }")
done

{
  echo "{"
  for (( e = 0; e < ${#entries[@]}; e++ )); do
    (( e < ${#entries[@]} - 1 )) && comma="," || comma=""
    echo "  ${entries[e]}$comma"
  done
  echo "}"
} >"$out/truth.json"

echo "rendered $(ls "$out" | wc -l) files into $out ($(du -sh "$out" | cut -f1))"
