"""Building the loader-facing shim library and pointing the OpenXR loader at it.

Nothing here runs at import time: :func:`build_shim` compiles ``shim.c`` into a
directory the caller chooses, :func:`write_manifest` writes the runtime
manifest that ``XR_RUNTIME_JSON`` must name, and :class:`Shim` routes the
library's lookups to one :class:`FakeRuntime` at a time.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import xr

SHIM_SOURCE = Path(__file__).with_name("shim.c")
LIBRARY_NAME = "libxr_test_runtime.so"


class CompilerUnavailable(RuntimeError):
    """No C compiler (cc or gcc) on PATH."""


def find_compiler() -> str | None:
    """Path of ``cc`` or ``gcc``, or ``None``."""
    return shutil.which("cc") or shutil.which("gcc")


def build_shim(out_dir: Path) -> Path:
    """Compile ``shim.c`` into ``out_dir``/libxr_test_runtime.so and return the library path."""
    compiler = find_compiler()
    if compiler is None:
        raise CompilerUnavailable("neither cc nor gcc is on PATH")
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / LIBRARY_NAME
    command = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(library), str(SHIM_SOURCE)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"compiling the OpenXR test shim failed:\n{completed.stderr}")
    return library


def write_manifest(out_dir: Path, library: Path, name: str = "vr test runtime") -> Path:
    """Write an OpenXR runtime manifest for ``library``; return its path (the value for XR_RUNTIME_JSON)."""
    manifest = out_dir / "xr_test_runtime.json"
    content = {"file_format_version": "1.0.0", "runtime": {"name": name, "library_path": str(library.resolve())}}
    manifest.write_text(json.dumps(content, indent=2))
    return manifest


class Shim:
    """The loaded shim library; :meth:`install` sends its lookups to a runtime.

    Keeps the library handle open (so the loader's dlclose cannot unload it) and
    every callback handed to C alive for the life of this object, because the
    loader may keep function pointers from an earlier runtime.
    """

    def __init__(self, library: Path) -> None:
        self.library = library
        self._cdll = ctypes.CDLL(str(library))
        self._cdll.shim_set_handler.argtypes = [xr.PFN_xrGetInstanceProcAddr]
        self._cdll.shim_set_handler.restype = None
        self._keep_alive: list[Any] = []

    def install(self, runtime: Any) -> None:
        """Route lookups to ``runtime.get_instance_proc_addr``."""
        handler = xr.PFN_xrGetInstanceProcAddr(runtime.get_instance_proc_addr)
        self._keep_alive.append((runtime, handler))
        self._cdll.shim_set_handler(handler)

    def uninstall(self) -> None:
        """Stop routing lookups: every function becomes unsupported."""
        self._cdll.shim_set_handler(xr.PFN_xrGetInstanceProcAddr())
