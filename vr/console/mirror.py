"""The console's mirror: a small picture of what the patient sees, a few times a second.

Reading a full frame back from the graphics card is slow in proportion to its size: an H200
took about 400 ms for a 1832x1920 window through ``getScreenshot``, most of it converting and
copying pixels on the CPU. So the picture is drawn small in the first place: ``MirrorCamera``
is a second camera at the patient's eye (the left eye in a headset, the window's camera
otherwise), sharing its lens, that draws the scene into a ``WIDTH``-pixel buffer. The buffer is
active only in a frame a picture is wanted, and only it is read back. The clinician's panel
and keys on the window are not in it: the mirror is what the patient sees. ``encode`` (JPEG,
with Pillow) runs on a thread of the hub's.
"""

from __future__ import annotations

import io

WIDTH = 320
QUALITY = 70


class MirrorCamera:
    """``request()`` in one frame; ``collect()`` after the next frame has drawn gives the picture."""

    def __init__(self, base, eye=None, lens=None, size: tuple[int, int] | None = None, width: int = WIDTH) -> None:
        """``eye``, ``lens``, ``size``: the patient's camera (a NodePath), its lens and its picture's size;
        by default the window's camera, lens and size."""
        from panda3d.core import Camera, GraphicsOutput, Texture

        win = base.win
        eye = eye if eye is not None else base.cam
        lens = lens if lens is not None else base.camLens
        src_w, src_h = size or (win.getXSize(), win.getYSize())
        self.win = win
        self.width = width
        self.height = max(2, round(width * src_h / max(src_w, 1)) // 2 * 2)
        self.picture = Texture("console-mirror")
        self.buffer = win.makeTextureBuffer("console-mirror", self.width, self.height, self.picture, False)
        self.buffer.clearRenderTextures()
        self.buffer.addRenderTexture(self.picture, GraphicsOutput.RTMTriggeredCopyRam)
        self.buffer.setSort(10_000)  # after the window and any eye buffers
        self.camera = eye.attachNewNode(Camera("console-mirror-camera", lens))  # rides with the eye
        self.buffer.makeDisplayRegion().setCamera(self.camera)
        self.buffer.setActive(False)
        self._pending = False

    def request(self) -> None:
        """Draw and read back a picture in the next frame."""
        self.buffer.setClearColor(self.win.getClearColor())   # the scene's sky (the safe scene's too)
        self.picture.clearRamImage()
        self.buffer.setActive(True)
        self.buffer.triggerCopy()
        self._pending = True

    def collect(self) -> tuple | None:
        """After the frame that followed ``request``: (width, height, bytes, mode, bottom_up), or None."""
        if not self._pending:
            return None
        self._pending = False
        self.buffer.setActive(False)
        if not self.picture.hasRamImage():
            return None
        return (self.picture.getXSize(), self.picture.getYSize(), bytes(self.picture.getRamImageAs("RGB")), "RGB",
                True)

    def destroy(self) -> None:
        self.buffer.setActive(False)
        self.win.getEngine().removeWindow(self.buffer)
        self.camera.removeNode()


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
