#!/usr/bin/env python3
"""Writes runtime/report/bitmapFont.ts: printable ASCII of DejaVu Sans Mono as 8-bit coverage maps.

The PNG reports are rasterised by Skipscope itself (runtime/report/raster.ts, no browser, no native
code), and text needs glyphs: this renders each character once with PIL at a fixed pixel size and
stores the coverage (0-255) per pixel, so the rasteriser only scales and blends. DejaVu fonts are
free to embed (Bitstream Vera licence). Run with Debian's Python: /usr/bin/python3 scripts/make_bitmap_font.py
"""

import base64
import os

from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SIZE = 24  # render large and scale down: smooth text at the report's 9 to 14 px sizes
FIRST, LAST = 32, 126


def main():
    font = ImageFont.truetype(FONT, SIZE)
    ascent, descent = font.getmetrics()
    advance = font.getlength("M")
    width = int(round(advance))
    height = ascent + descent
    data = bytearray()
    for code in range(FIRST, LAST + 1):
        img = Image.new("L", (width, height), 0)
        ImageDraw.Draw(img).text((0, 0), chr(code), font=font, fill=255)
        data += img.tobytes()
    out = os.path.join(ROOT, "runtime", "report", "bitmapFont.ts")
    b64 = base64.b64encode(bytes(data)).decode("ascii")
    lines = [b64[i : i + 100] for i in range(0, len(b64), 100)]
    with open(out, "w") as f:
        f.write("/**\n")
        f.write(" * Printable ASCII of DejaVu Sans Mono (Bitstream Vera licence) as 8-bit coverage maps, written by\n")
        f.write(" * scripts/make_bitmap_font.py; do not edit. The report rasteriser scales and blends these glyphs.\n")
        f.write(" */\n\n")
        f.write("/** The glyphs: cell size in pixels at `size` px, ascent, and the coverage bytes of codes 32..126. */\n")
        f.write("export const BITMAP_FONT = {\n")
        f.write(f"  size: {SIZE},\n  width: {width},\n  height: {height},\n  ascent: {ascent},\n")
        f.write(f"  /** Horizontal advance per character, as a fraction of the font size. */\n  advance: {advance / SIZE:.6f},\n")
        f.write(f"  first: {FIRST},\n  last: {LAST},\n  data:\n")
        f.write(" +\n".join(f"    '{l}'" for l in lines))
        f.write(",\n};\n")


if __name__ == "__main__":
    main()
