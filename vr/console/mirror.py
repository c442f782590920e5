"""The console's mirror: a small picture of what the patient sees, a few times a second.

Reading a full frame back from the graphics card is slow in proportion to its size: an H200
took about 400 ms for a 1832x1920 window through ``getScreenshot``, most of it converting and
copying pixels on the CPU. So the picture is made small on the graphics card first:
``MirrorCamera`` draws the patient's view (the left eye in a headset, the window otherwise)
onto a ``WIDTH``-pixel buffer that is active only in the frame a picture is wanted, and only
that small buffer is read back. ``encode`` (JPEG, with Pillow) runs on a thread of the hub's.
"""

from __future__ import annotations

import io

WIDTH = 320
QUALITY = 70


class MirrorCamera:
    """``request()`` in one frame; ``collect()`` after the next frame has drawn gives the picture."""

    def __init__(self, base, source=None, width: int = WIDTH) -> None:
        """``source``: a texture holding the patient's view (a headset's left eye); None: the window."""
        from panda3d.core import (Camera, CardMaker, GraphicsOutput, NodePath, OrthographicLens, Texture,
                                  TransparencyAttrib)

        win = base.win
        self._win_copy = source is None
        if source is None:  # the window's picture, copied into a texture on the card only when asked
            source = Texture("console-mirror-source")
            win.addRenderTexture(source, GraphicsOutput.RTMTriggeredCopyTexture)
            src_w, src_h = win.getXSize(), win.getYSize()
        else:
            src_w, src_h = source.getXSize() or win.getXSize(), source.getYSize() or win.getYSize()
        self.win = win
        self.width = width
        self.height = max(2, round(width * src_h / max(src_w, 1)) // 2 * 2)
        self.picture = Texture("console-mirror")
        self.buffer = win.makeTextureBuffer("console-mirror", self.width, self.height, self.picture, False)
        self.buffer.clearRenderTextures()
        self.buffer.addRenderTexture(self.picture, GraphicsOutput.RTMTriggeredCopyRam)
        self.buffer.setSort(10_000)  # after the window and any eye buffers
        self.buffer.setClearColor((0, 0, 0, 1))
        self.root = NodePath("console-mirror-scene")
        self.root.setDepthTest(False)
        self.root.setDepthWrite(False)
        self.root.setTransparency(TransparencyAttrib.MNone)
        self.root.setLightOff(1)
        card = CardMaker("console-mirror-card")
        card.setFrameFullscreenQuad()
        quad = self.root.attachNewNode(card.generate())
        quad.setTexture(source, 1)
        lens = OrthographicLens()
        lens.setFilmSize(2, 2)
        lens.setNearFar(-10, 10)
        camera = self.root.attachNewNode(Camera("console-mirror-camera", lens))
        region = self.buffer.makeDisplayRegion()
        region.setCamera(camera)
        self.buffer.setActive(False)
        self._pending = False

    def request(self) -> None:
        """Draw and read back a picture in the next frame."""
        if self._win_copy:
            self.win.triggerCopy()
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
        self.root.removeNode()


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
