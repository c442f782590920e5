"""The console's mirror camera: a small picture of what the patient sees (``vr.console.mirror`` encodes it).

A second camera at the patient's eye (the left eye in a headset, the window's camera otherwise),
sharing its lens, draws the scene into a ``WIDTH``-pixel buffer that is active only in a frame
a picture is wanted, so only a small buffer is ever read back (a full 1832x1920 read-back held
an H200's frame about 400 ms). The clinician's panel is not in it.
"""

from __future__ import annotations

from vr.console.mirror import WIDTH


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
