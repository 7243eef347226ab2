#!/usr/bin/env python3
"""Decodes a PNG with Pillow (Debian's python3-pil), independently of xgrad's libpng writer, and
prints "MODE WIDTH HEIGHT" then every pixel's bands, row by row, space-separated, on one line.
Exits 77 when Pillow is missing.

usage: decode_png.py FILE
"""
import sys

try:
    from PIL import Image
except ImportError:
    sys.exit(77)

with Image.open(sys.argv[1]) as im:
    im.load()
    values = []
    for px in im.getdata():
        values.extend(px if isinstance(px, tuple) else (px,))
    print(im.format, im.mode, im.width, im.height)
    print(" ".join(str(v) for v in values))
