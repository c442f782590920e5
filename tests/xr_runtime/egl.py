"""A headless EGL + desktop OpenGL context for tests that need a current GL context.

Uses Mesa's surfaceless platform (no display server needed) when available,
else the default EGL display.  The context has no default framebuffer; draw
into textures through framebuffer objects (see :meth:`EglContext.clear_texture`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import xr

EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_RENDERABLE_TYPE = 0x3040
EGL_OPENGL_BIT = 0x0008
EGL_SURFACE_TYPE = 0x3033
EGL_PBUFFER_BIT = 0x0001
EGL_NONE = 0x3038
EGL_OPENGL_API = 0x30A2

GL_FRAMEBUFFER = 0x8D40
GL_FRAMEBUFFER_BINDING = 0x8CA6
GL_COLOR_ATTACHMENT0 = 0x8CE0
GL_TEXTURE_2D = 0x0DE1
GL_COLOR_BUFFER_BIT = 0x4000
GL_FRAMEBUFFER_COMPLETE = 0x8CD5
GL_SCISSOR_TEST = 0x0C11

_vp = ctypes.c_void_p
_u = ctypes.c_uint
_i = ctypes.c_int
_f = ctypes.c_float


class EglUnavailable(RuntimeError):
    """No EGL display / OpenGL context could be created here."""


def _egl() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libEGL.so.1")
    except OSError as exc:
        raise EglUnavailable(f"libEGL.so.1 not loadable: {exc}") from exc
    lib.eglGetProcAddress.restype = _vp
    lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    lib.eglGetDisplay.restype = _vp
    lib.eglGetDisplay.argtypes = [_vp]
    lib.eglInitialize.argtypes = [_vp, ctypes.POINTER(_i), ctypes.POINTER(_i)]
    lib.eglChooseConfig.argtypes = [_vp, ctypes.POINTER(_i), ctypes.POINTER(_vp), _i, ctypes.POINTER(_i)]
    lib.eglCreateContext.restype = _vp
    lib.eglCreateContext.argtypes = [_vp, _vp, _vp, ctypes.POINTER(_i)]
    lib.eglMakeCurrent.argtypes = [_vp, _vp, _vp, _vp]
    lib.eglDestroyContext.argtypes = [_vp, _vp]
    return lib


class EglContext:
    """A desktop-GL EGL context without surfaces, current on the creating thread.

    ``display``, ``config`` and ``context`` are the raw EGL handles (ints).
    """

    def __init__(self) -> None:
        self._lib = _egl()
        self.display = self._open_display()
        major, minor = _i(), _i()
        if not self._lib.eglInitialize(self.display, ctypes.byref(major), ctypes.byref(minor)):
            raise EglUnavailable("eglInitialize failed")
        if not self._lib.eglBindAPI(EGL_OPENGL_API):
            raise EglUnavailable("eglBindAPI(EGL_OPENGL_API) failed")
        attributes = (_i * 5)(EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_NONE)
        config, count = _vp(), _i()
        if not self._lib.eglChooseConfig(self.display, attributes, ctypes.byref(config), 1, ctypes.byref(count)):
            raise EglUnavailable("eglChooseConfig failed")
        if count.value < 1:
            raise EglUnavailable("no EGL config renders desktop OpenGL")
        self.config = config.value or 0
        self.context = self._lib.eglCreateContext(self.display, self.config, None, None) or 0
        if not self.context:
            raise EglUnavailable("eglCreateContext failed")
        self._gl: dict[str, ctypes._CFuncPtr] = {}
        self.make_current()

    def _open_display(self) -> int:
        try:
            get_platform_display = self._lib.eglGetPlatformDisplay
        except AttributeError:
            get_platform_display = None
        if get_platform_display is not None:
            get_platform_display.restype = _vp
            get_platform_display.argtypes = [_u, _vp, _vp]
            display = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, None, None)
            if display:
                return display
        display = self._lib.eglGetDisplay(None)
        if not display:
            raise EglUnavailable("no EGL display")
        return display

    def make_current(self) -> None:
        """Make the context current on this thread, without surfaces."""
        if not self._lib.eglMakeCurrent(self.display, None, None, self.context):
            raise EglUnavailable("eglMakeCurrent failed")

    def release(self) -> None:
        """Make no context current on this thread."""
        self._lib.eglMakeCurrent(self.display, None, None, None)

    def close(self) -> None:
        """Release and destroy the context (the display stays initialised for reuse)."""
        if self.context:
            self.release()
            self._lib.eglDestroyContext(self.display, self.context)
            self.context = 0

    def proc_address(self, name: str) -> int:
        """Address of a GL or EGL function (0 if unknown)."""
        return self._lib.eglGetProcAddress(name.encode()) or 0

    def graphics_binding(self) -> xr.GraphicsBindingEGLMNDX:
        """An ``XrGraphicsBindingEGLMNDX`` for this context (chain it into ``xr.SessionCreateInfo.next``)."""
        binding = xr.GraphicsBindingEGLMNDX()
        get_proc_address = ctypes.cast(self._lib.eglGetProcAddress, _vp).value
        # Raw stores: pyopenxr types these fields with PyOpenGL's EGL pointer classes.
        for field, value in (
            ("get_proc_address", get_proc_address),
            ("display", self.display),
            ("config", self.config),
            ("context", self.context),
        ):
            _vp.from_buffer(binding, getattr(type(binding), field).offset).value = value
        return binding

    def gl(self, name: str, restype: type | None, *argtypes: type) -> ctypes._CFuncPtr:
        """A GL function of the given C signature (cached by name)."""
        if name not in self._gl:
            address = self.proc_address(name)
            if not address:
                raise EglUnavailable(f"GL function {name} is not available")
            self._gl[name] = ctypes.CFUNCTYPE(restype, *argtypes)(address)
        return self._gl[name]

    def clear_texture(
        self, texture: int, rgba: Sequence[float], rect: tuple[int, int, int, int] | None = None
    ) -> None:
        """Fill level 0 of 2D ``texture`` with colour ``rgba`` (floats 0..1) through a temporary framebuffer.

        ``rect`` = (x, y, width, height) in texels, GL convention (y = 0 is the bottom row),
        limits the fill; ``None`` fills everything.  Values are written as given
        (no sRGB encoding: GL_FRAMEBUFFER_SRGB stays off).
        """
        framebuffer = _u()
        previous = _i()
        self.gl("glGetIntegerv", None, _u, ctypes.POINTER(_i))(GL_FRAMEBUFFER_BINDING, ctypes.byref(previous))
        self.gl("glGenFramebuffers", None, _i, ctypes.POINTER(_u))(1, ctypes.byref(framebuffer))
        try:
            self.gl("glBindFramebuffer", None, _u, _u)(GL_FRAMEBUFFER, framebuffer)
            self.gl("glFramebufferTexture2D", None, _u, _u, _u, _u, _i)(
                GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0
            )
            status = self.gl("glCheckFramebufferStatus", _u, _u)(GL_FRAMEBUFFER)
            if status != GL_FRAMEBUFFER_COMPLETE:
                raise RuntimeError(f"framebuffer incomplete: {status:#x}")
            if rect is not None:
                self.gl("glEnable", None, _u)(GL_SCISSOR_TEST)
                self.gl("glScissor", None, _i, _i, _i, _i)(*rect)
            self.gl("glClearColor", None, _f, _f, _f, _f)(*(float(c) for c in rgba))
            self.gl("glClear", None, _u)(GL_COLOR_BUFFER_BIT)
            self.gl("glFinish", None)()
        finally:
            if rect is not None:
                self.gl("glDisable", None, _u)(GL_SCISSOR_TEST)
            self.gl("glBindFramebuffer", None, _u, _u)(GL_FRAMEBUFFER, previous.value)
            self.gl("glDeleteFramebuffers", None, _i, ctypes.POINTER(_u))(1, ctypes.byref(framebuffer))
