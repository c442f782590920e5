"""Starting Panda3D for one backend: its settings, applied when a backend opens (never at import)."""

from __future__ import annotations

import os

from panda3d.core import loadPrcFileData

COMMON = """
sync-video false
notify-level warning
notify-level-device fatal
notify-level-display error
default-directnotify-level warning
textures-power-2 none
print-pipe-types false
hardware-animated-vertices true
"""


def configure(kind: str, size: tuple[int, int], title: str = "vr") -> None:
    """Apply the settings for ``kind`` ('offscreen' or 'desktop') before ShowBase is created."""
    lines = [COMMON, f"win-size {size[0]} {size[1]}", f"window-title {title}"]
    if kind == "offscreen" or os.environ.get("VR_AUDIO", "").lower() in ("0", "off", "no"):
        lines.append("audio-library-name null")  # headless runs are silent; VR_AUDIO=off silences any run
    if kind == "offscreen":
        lines += ["load-display p3headlessgl", "window-type offscreen"]
    else:
        lines += ["window-type onscreen", "cursor-hidden false"]
    loadPrcFileData("vr-backend", "\n".join(lines))


def start_showbase(kind: str, size: tuple[int, int], title: str = "vr"):
    """A ShowBase for ``kind``; raises ``RuntimeError`` naming what is missing when no window opens."""
    configure(kind, size, title)
    from direct.showbase.ShowBase import ShowBase

    try:
        base = ShowBase()
    except Exception as e:  # Panda3D raises a bare Exception when no graphics pipe opens
        hint = ("install the EGL and Mesa libraries (scripts/setup.sh does)" if kind == "offscreen"
                else "no display: use --backend offscreen, or run under a desktop session or Xvfb")
        raise RuntimeError(f"cannot open a {kind} window: {e}; {hint}") from None
    if base.win is None:
        raise RuntimeError(f"cannot open a {kind} window; "
                           + ("install EGL/Mesa (scripts/setup.sh)" if kind == "offscreen" else "is a display available?"))
    base.disableMouse()
    base.setBackgroundColor(0, 0, 0, 1)
    return base


def save_screenshot(win, path) -> None:
    """The window's last frame as a PNG, as private as the session record (folder 0700, file 0600)."""
    from panda3d.core import PNMImage

    image = PNMImage()
    if not win.getScreenshot(image):
        raise RuntimeError("no frame rendered yet")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    image.write(str(path))
    os.chmod(path, 0o600)
