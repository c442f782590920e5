"""The console's mirror pictures: JPEG encoding (Pillow), off the frame on a thread of the hub's.

The picture itself is drawn by ``vr.render.mirror.MirrorCamera``. Reading a full frame back from the graphics card is slow in proportion to its size: an H200
took about 400 ms for a 1832x1920 window through ``getScreenshot``, most of it converting and
copying pixels on the CPU. So the picture is drawn small in the first place: ``MirrorCamera``
is a second camera at the patient's eye (the left eye in a headset, the window's camera
otherwise), sharing its lens, that draws the scene into a ``WIDTH``-pixel buffer. The buffer is
active only in a frame a picture is wanted, and only it is read back. The clinician's panel
and keys on the window are not in it: the mirror is what the patient sees. ``encode`` (JPEG)
runs on a thread of the hub's.
"""

from __future__ import annotations

import io

WIDTH = 320
QUALITY = 70


def encode(raw: tuple, width: int = WIDTH) -> bytes:
    """A JPEG about ``width`` pixels wide."""
    from PIL import Image

    w, h, data, mode, bottom_up = raw
    image = Image.frombytes(mode, (w, h), data)
    if bottom_up:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if mode != "RGB":
        image = image.convert("RGB")
    if w > width:
        image = image.resize((width, max(1, round(h * width / w))), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()
