#!/bin/sh
# Makes assets/icon.png (256x256) with ImageMagick: run from the crate, commit the result.
set -eu
cd "$(dirname "$0")"
convert -size 256x256 xc:'#2b6cb0' \
    -fill '#f6ad55' -draw 'roundrectangle 40,40 216,216 32,32' \
    -fill '#1a202c' -draw 'rectangle 72,96 184,112' -draw 'rectangle 72,144 184,160' \
    -define png:exclude-chunks=date,time -depth 8 -strip icon.png
