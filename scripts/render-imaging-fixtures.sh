#!/usr/bin/env bash
# Renders the small image fixtures used by tests/Engine.Tests/Imaging (needs imagemagick).
# Deterministic: plasma is seeded; EXIF blocks are spliced in by hand so no exiftool is needed.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/tests/Engine.Tests/Imaging/Fixtures"
mkdir -p "$out"
cd "$out"
export MAGICK_TIME=0 SOURCE_DATE_EPOCH=0

# 64x48 "photo": smooth colour field plus a white bar in the top-left corner, so any
# rotation or flip is visible.
convert -seed 7 -size 64x48 plasma:red-blue -blur 0x1 \
  -fill white -draw 'rectangle 2,2 21,9' -fill black -draw 'rectangle 50,36 61,45' \
  -define png:exclude-chunks=date,time -strip PNG24:picture.png
convert picture.png -quality 95 -sampling-factor 1x1 -strip picture.jpg
convert picture.png -quality 95 -define webp:method=6 -strip picture.webp
convert picture.png -define webp:lossless=true -strip picture-lossless.webp

# splice_exif IN OUT ORIENTATION ENDIAN(II|MM): inserts an APP1 Exif block with IFD0
# holding only tag 0x0112 right after SOI.
splice_exif() {
  local in=$1 outf=$2 o=$3 endian=$4 app1
  if [ "$endian" = II ]; then
    app1="\xff\xe1\x00\x22Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x0${o}\x00\x00\x00\x00\x00\x00\x00"
  else
    app1="\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x0${o}\x00\x00\x00\x00\x00\x00"
  fi
  { head -c 2 "$in"; printf "$app1"; tail -c +3 "$in"; } > "$outf"
}

# Stored pixels are rotated so that honouring the orientation gives picture.png back.
# 6 (RightTop) = display rotates stored 90 deg clockwise; 3 = 180; 8 = 90 counter-clockwise.
convert picture.png -rotate -90 -quality 95 -sampling-factor 1x1 -strip tmp6.jpg
splice_exif tmp6.jpg picture-orient6.jpg 6 II
convert picture.png -rotate 180 -quality 95 -sampling-factor 1x1 -strip tmp3.jpg
splice_exif tmp3.jpg picture-orient3.jpg 3 MM
convert picture.png -rotate 90 -quality 95 -sampling-factor 1x1 -strip tmp8.jpg
splice_exif tmp8.jpg picture-orient8.jpg 8 MM
rm -f tmp6.jpg tmp3.jpg tmp8.jpg

# 4000x3000 JPEG of large flat shapes (compresses to a few hundred KB) for DCT scaling.
convert -size 4000x3000 xc:'#3060a0' \
  -fill '#e0c020' -draw 'rectangle 200,200 1799,1399' \
  -fill '#20a040' -draw 'circle 3000,2000 3000,2700' \
  -fill white -draw 'rectangle 0,2600 3999,2999' \
  -quality 70 -strip large.jpg

# Formats the decoder must refuse.
convert picture.png -colorspace CMYK -quality 90 -strip picture-cmyk.jpg
convert picture.png -strip picture.gif
convert picture.png -strip BMP3:picture.bmp
convert picture.png -strip -compress none picture.tiff
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\n' > picture.svg

for f in picture-orient6.jpg picture-orient3.jpg picture-orient8.jpg; do
  echo "$f orientation=$(identify -format '%[orientation]' "$f")"
done
ls -l
