"""The console's mirror: a small picture of what the patient sees, a few times a second.

``grab`` runs on the frame thread right after drawing and only copies pixels out (the left eye
in a headset, the window otherwise); ``encode`` (scaling and JPEG, with Pillow) runs on the
server's side, so the frame pays for the copy alone.
"""

from __future__ import annotations

import io

WIDTH = 320
QUALITY = 70


def grab(backend) -> tuple | None:
    """(width, height, bytes, mode, bottom_up) of the newest picture, or None when there is none."""
    eye = getattr(backend, "eye_pixels", None)
    if eye is not None:  # a headset: the left eye as submitted, not the mirror window's letterbox and panel
        pixels = eye(0)
        return pixels.shape[1], pixels.shape[0], pixels.tobytes(), "RGBA", False
    win = getattr(backend.base, "win", None)
    if win is None:
        return None
    texture = win.getScreenshot()
    if texture is None or not texture.hasRamImage():
        return None
    return texture.getXSize(), texture.getYSize(), bytes(texture.getRamImageAs("RGB")), "RGB", True


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
