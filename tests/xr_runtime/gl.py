"""Minimal OpenGL access for swapchain images, through the application's own context.

Functions are resolved with the loader of the session's graphics binding
(``eglGetProcAddress`` for XR_MNDX_egl_enable, ``glXGetProcAddressARB`` for an
Xlib binding).  Every call here assumes the application's context is current
on the calling thread, as XR_KHR_opengl_enable requires for swapchain calls,
and restores any GL state it touches.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import numpy as np

GL_TEXTURE_2D = 0x0DE1
GL_TEXTURE_BINDING_2D = 0x8069
GL_TEXTURE_MIN_FILTER = 0x2801
GL_TEXTURE_MAG_FILTER = 0x2800
GL_LINEAR = 0x2601
GL_RGBA = 0x1908
GL_UNSIGNED_BYTE = 0x1401
GL_PIXEL_PACK_BUFFER = 0x88EB
GL_PIXEL_PACK_BUFFER_BINDING = 0x88ED
GL_PACK_ALIGNMENT = 0x0D05
GL_PACK_ROW_LENGTH = 0x0D02
GL_PACK_SKIP_ROWS = 0x0D03
GL_PACK_SKIP_PIXELS = 0x0D04
GL_NO_ERROR = 0

GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058

_u = ctypes.c_uint
_i = ctypes.c_int
_PACK_STATE = (GL_PACK_ALIGNMENT, GL_PACK_ROW_LENGTH, GL_PACK_SKIP_ROWS, GL_PACK_SKIP_PIXELS)
_PACK_DEFAULTS = {GL_PACK_ALIGNMENT: 1, GL_PACK_ROW_LENGTH: 0, GL_PACK_SKIP_ROWS: 0, GL_PACK_SKIP_PIXELS: 0}

_SIGNATURES: dict[str, tuple[type | None, tuple[type, ...]]] = {
    "glGenTextures": (None, (_i, ctypes.POINTER(_u))),
    "glDeleteTextures": (None, (_i, ctypes.POINTER(_u))),
    "glBindTexture": (None, (_u, _u)),
    "glTexStorage2D": (None, (_u, _i, _u, _i, _i)),
    "glTexParameteri": (None, (_u, _u, _i)),
    "glGetIntegerv": (None, (_u, ctypes.POINTER(_i))),
    "glGetTexImage": (None, (_u, _i, _u, _u, ctypes.c_void_p)),
    "glPixelStorei": (None, (_u, _i)),
    "glBindBuffer": (None, (_u, _u)),
    "glGetError": (_u, ()),
}

_libraries: dict[str, ctypes.CDLL] = {}


def _library(name: str) -> ctypes.CDLL:
    if name not in _libraries:
        _libraries[name] = ctypes.CDLL(name)
    return _libraries[name]


def egl_proc_address_resolver(binding_get_proc_address: int = 0) -> Callable[[bytes], int]:
    """Resolver for an EGL binding: the binding's function if given, else libEGL's."""
    if binding_get_proc_address:
        function = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p)(binding_get_proc_address)
    else:
        function = _library("libEGL.so.1").eglGetProcAddress
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_char_p]
    return lambda name: function(name) or 0


def glx_proc_address_resolver() -> Callable[[bytes], int]:
    """Resolver for an Xlib/GLX binding (``glXGetProcAddressARB``)."""
    for name in ("libGLX.so.0", "libGL.so.1"):
        try:
            function = _library(name).glXGetProcAddressARB
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_char_p]
        return lambda symbol: function(symbol) or 0
    raise OSError("no GLX library with glXGetProcAddressARB")


def egl_current_context() -> int:
    """The EGL context current on this thread (0 if none)."""
    function = _library("libEGL.so.1").eglGetCurrentContext
    function.restype = ctypes.c_void_p
    return function() or 0


def glx_current_context() -> int:
    """The GLX context current on this thread (0 if none)."""
    for name in ("libGLX.so.0", "libGL.so.1"):
        try:
            function = _library(name).glXGetCurrentContext
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        return function() or 0
    return 0


class GlApi:
    """The handful of GL entry points the runtime needs, resolved once per session."""

    def __init__(self, resolve: Callable[[bytes], int]) -> None:
        self._resolve = resolve
        self._functions: dict[str, ctypes._CFuncPtr] = {}

    def _fn(self, name: str) -> ctypes._CFuncPtr:
        if name not in self._functions:
            address = self._resolve(name.encode())
            if not address:
                raise OSError(f"GL function {name} is not available")
            restype, argtypes = _SIGNATURES[name]
            self._functions[name] = ctypes.CFUNCTYPE(restype, *argtypes)(address)
        return self._functions[name]

    def _get_integer(self, pname: int) -> int:
        value = _i(0)
        self._fn("glGetIntegerv")(pname, ctypes.byref(value))
        return value.value

    def drain_errors(self) -> list[int]:
        """Pop all pending GL error codes (the application's or ours)."""
        errors = []
        for _ in range(32):
            code = self._fn("glGetError")()
            if code == GL_NO_ERROR:
                break
            errors.append(code)
        return errors

    def create_textures(self, count: int, internal_format: int, width: int, height: int) -> list[int]:
        """``count`` immutable 2D textures of ``internal_format``, ``width`` x ``height`` texels, one level."""
        names = (_u * count)()
        self._fn("glGenTextures")(count, names)
        previous = self._get_integer(GL_TEXTURE_BINDING_2D)
        try:
            for name in names:
                self._fn("glBindTexture")(GL_TEXTURE_2D, name)
                self._fn("glTexStorage2D")(GL_TEXTURE_2D, 1, internal_format, width, height)
                self._fn("glTexParameteri")(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR)
                self._fn("glTexParameteri")(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR)
        finally:
            self._fn("glBindTexture")(GL_TEXTURE_2D, previous)
        return list(names)

    def delete_textures(self, names: list[int]) -> None:
        """Delete textures made by :meth:`create_textures`."""
        if names:
            self._fn("glDeleteTextures")(len(names), (_u * len(names))(*names))

    def read_texture(self, name: int, width: int, height: int) -> np.ndarray:
        """Level 0 of texture ``name`` as uint8 RGBA, shape (height, width, 4), GL order (row 0 = bottom).

        The stored bytes are returned as they are (no sRGB decoding).
        """
        pixels = np.zeros((height, width, 4), dtype=np.uint8)
        previous_texture = self._get_integer(GL_TEXTURE_BINDING_2D)
        previous_buffer = self._get_integer(GL_PIXEL_PACK_BUFFER_BINDING)
        previous_pack = {pname: self._get_integer(pname) for pname in _PACK_STATE}
        try:
            if previous_buffer:
                self._fn("glBindBuffer")(GL_PIXEL_PACK_BUFFER, 0)
            for pname, value in _PACK_DEFAULTS.items():
                self._fn("glPixelStorei")(pname, value)
            self._fn("glBindTexture")(GL_TEXTURE_2D, name)
            self._fn("glGetTexImage")(GL_TEXTURE_2D, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels.ctypes.data)
        finally:
            self._fn("glBindTexture")(GL_TEXTURE_2D, previous_texture)
            for pname, value in previous_pack.items():
                self._fn("glPixelStorei")(pname, value)
            if previous_buffer:
                self._fn("glBindBuffer")(GL_PIXEL_PACK_BUFFER, previous_buffer)
        return pixels
