"""The few OpenGL calls the headset backend makes itself, through ctypes.

Panda3D owns the GL context. The backend needs its handles (to tell the OpenXR runtime which
context renders) and two functions: ``glCopyImageSubData`` to copy each eye's rendered texture
into the runtime's swapchain image, and ``glGetString`` to report the driver. Everything here is
called right after Panda3D has drawn a frame, when its context is still current on the thread.

Which window system the context belongs to follows Panda3D's graphics pipe: ``egl`` for the
headless pipe (p3headlessgl), ``glx`` for an X11 window, ``wgl`` on Windows.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field

GL_TEXTURE_2D = 0x0DE1
GL_VENDOR, GL_RENDERER, GL_VERSION = 0x1F00, 0x1F01, 0x1F02
GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058
GL_RGBA16F = 0x881A
GL_SRGB8 = 0x8C41
GL_RGB8 = 0x8051
FORMAT_NAMES = {GL_SRGB8_ALPHA8: "GL_SRGB8_ALPHA8", GL_RGBA8: "GL_RGBA8", GL_SRGB8: "GL_SRGB8",
                GL_RGB8: "GL_RGB8", GL_RGBA16F: "GL_RGBA16F"}
# Formats our 8-bit display-referred frames copy into unchanged, best first. An sRGB swapchain
# is the right home for them: the runtime decodes it as sRGB, which is what the pixels are.
COPYABLE_FORMATS = (GL_SRGB8_ALPHA8, GL_RGBA8)

EGL_CONFIG_ID = 0x3028
EGL_NONE = 0x3038
GLX_FBCONFIG_ID = 0x8013
GLX_VISUAL_ID = 0x800B
GLX_SCREEN = 0x800C


def _load(*names: str) -> ctypes.CDLL:
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)  # already loaded by Panda3D: the same library, the same handle
        except OSError as e:
            errors.append(str(e))
    raise OSError(f"cannot load any of {', '.join(names)}: {'; '.join(errors)}")


@dataclass
class GlContext:
    """The current GL context's handles, as the runtime's graphics binding wants them."""

    kind: str                       # egl | glx | wgl
    handles: dict[str, int]         # display/context/config (egl); display/context/drawable/fbconfig/visual (glx)
    get_proc: Callable[[str], int]  # GL function address by name
    proc_address_fn: int = 0        # eglGetProcAddress itself (the EGL binding carries it)
    version: str = ""
    renderer: str = ""
    _fns: dict[str, object] = field(default_factory=dict, repr=False)

    def fn(self, name: str, restype, *argtypes):
        """A GL function of this context, resolved once."""
        if name not in self._fns:
            address = self.get_proc(name)
            if not address:
                raise RuntimeError(f"the GL driver has no {name}; OpenGL 4.3 or ARB_copy_image is needed")
            self._fns[name] = ctypes.CFUNCTYPE(restype, *argtypes)(address)
        return self._fns[name]

    def copy_texture(self, src: int, dst: int, width: int, height: int) -> None:
        """Copy a 2D texture's level 0 into another of a compatible format (RGBA8 -> SRGB8_ALPHA8)."""
        u, i = ctypes.c_uint, ctypes.c_int
        copy = self.fn("glCopyImageSubData", None, u, u, i, i, i, i, u, u, i, i, i, i, i, i, i)
        copy(src, GL_TEXTURE_2D, 0, 0, 0, 0, dst, GL_TEXTURE_2D, 0, 0, 0, 0, width, height, 1)

    def flush(self) -> None:
        self.fn("glFlush", None)()


def _strings(get_proc: Callable[[str], int]) -> tuple[str, str]:
    address = get_proc("glGetString")
    if not address:
        return "", ""
    get_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_uint)(address)
    version = (get_string(GL_VERSION) or b"").decode(errors="replace")
    renderer = (get_string(GL_RENDERER) or b"").decode(errors="replace")
    return version, renderer


def current_context_handle(kind: str) -> int:
    """The handle of the GL context current on this thread (0 if none), cheaply, every frame."""
    if kind == "egl":
        lib, name = _load("libEGL.so.1", "libEGL.so"), "eglGetCurrentContext"
    elif kind == "glx":
        lib, name = _load("libGLX.so.0", "libGL.so.1"), "glXGetCurrentContext"
    else:  # pragma: no cover - Windows only
        lib, name = ctypes.WinDLL("opengl32"), "wglGetCurrentContext"  # type: ignore[attr-defined]
    fn = getattr(lib, name)
    fn.restype = ctypes.c_void_p
    return fn() or 0


def current_context(kind: str) -> GlContext:
    """The handles of the GL context current on this thread; ``kind`` says its window system."""
    if kind == "egl":
        ctx = _egl_context()
    elif kind == "glx":
        ctx = _glx_context()
    elif kind == "wgl":
        ctx = _wgl_context()
    else:
        raise ValueError(f"unknown GL window system {kind!r}")
    ctx.version, ctx.renderer = _strings(ctx.get_proc)
    return ctx


def _egl_context() -> GlContext:
    egl = _load("libEGL.so.1", "libEGL.so")
    vp = ctypes.c_void_p
    egl.eglGetCurrentDisplay.restype = vp
    egl.eglGetCurrentContext.restype = vp
    egl.eglGetProcAddress.restype = vp
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    egl.eglQueryContext.argtypes = [vp, vp, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    egl.eglChooseConfig.argtypes = [vp, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(vp), ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_int)]
    display, context = egl.eglGetCurrentDisplay(), egl.eglGetCurrentContext()
    if not display or not context:
        raise RuntimeError("no EGL context is current (is Panda3D using its headless EGL pipe?)")
    config_id = ctypes.c_int(0)
    egl.eglQueryContext(display, context, EGL_CONFIG_ID, ctypes.byref(config_id))
    attribs = (ctypes.c_int * 3)(EGL_CONFIG_ID, config_id.value, EGL_NONE)
    config, count = vp(), ctypes.c_int(0)
    egl.eglChooseConfig(display, attribs, ctypes.byref(config), 1, ctypes.byref(count))

    def get_proc(name: str) -> int:
        return egl.eglGetProcAddress(name.encode()) or 0

    address = ctypes.cast(egl.eglGetProcAddress, ctypes.c_void_p).value or 0
    return GlContext("egl", {"display": display, "context": context, "config": config.value or 0}, get_proc, address)


def _glx_context() -> GlContext:
    glx = _load("libGLX.so.0", "libGL.so.1")
    vp = ctypes.c_void_p
    for name in ("glXGetCurrentDisplay", "glXGetCurrentContext", "glXGetProcAddressARB", "glXChooseFBConfig"):
        getattr(glx, name).restype = vp
    glx.glXGetCurrentDrawable.restype = ctypes.c_ulong
    glx.glXGetProcAddressARB.argtypes = [ctypes.c_char_p]
    glx.glXQueryContext.argtypes = [vp, vp, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    glx.glXChooseFBConfig.argtypes = [vp, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    display, context = glx.glXGetCurrentDisplay(), glx.glXGetCurrentContext()
    if not display or not context:
        raise RuntimeError("no GLX context is current")
    values = {}
    for key, attr in (("fbconfig_id", GLX_FBCONFIG_ID), ("visual", GLX_VISUAL_ID), ("screen", GLX_SCREEN)):
        out = ctypes.c_int(0)
        glx.glXQueryContext(display, context, attr, ctypes.byref(out))
        values[key] = out.value
    attribs = (ctypes.c_int * 3)(GLX_FBCONFIG_ID, values["fbconfig_id"], 0)
    count = ctypes.c_int(0)
    configs = glx.glXChooseFBConfig(display, values["screen"], attribs, ctypes.byref(count))
    fbconfig = ctypes.cast(configs, ctypes.POINTER(vp))[0] if configs and count.value else 0

    def get_proc(name: str) -> int:
        return glx.glXGetProcAddressARB(name.encode()) or 0

    return GlContext("glx", {"display": display, "context": context, "drawable": glx.glXGetCurrentDrawable(),
                             "fbconfig": fbconfig or 0, "visual": values["visual"]}, get_proc)


def _wgl_context() -> GlContext:  # pragma: no cover - Windows only
    opengl = ctypes.WinDLL("opengl32")  # type: ignore[attr-defined]
    opengl.wglGetCurrentDC.restype = ctypes.c_void_p
    opengl.wglGetCurrentContext.restype = ctypes.c_void_p
    opengl.wglGetProcAddress.restype = ctypes.c_void_p
    opengl.wglGetProcAddress.argtypes = [ctypes.c_char_p]
    dc, context = opengl.wglGetCurrentDC(), opengl.wglGetCurrentContext()
    if not dc or not context:
        raise RuntimeError("no WGL context is current")

    def get_proc(name: str) -> int:
        address = opengl.wglGetProcAddress(name.encode())
        if not address:  # GL 1.1 functions come from opengl32 itself
            address = ctypes.cast(getattr(opengl, name, None), ctypes.c_void_p).value if hasattr(opengl, name) else 0
        return address or 0

    return GlContext("wgl", {"dc": dc, "context": context}, get_proc)
