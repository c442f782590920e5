"""Plumbing shared by the test runtime's modules: errors, handle and struct helpers.

Nothing here knows about OpenXR semantics beyond result codes; the runtime's
mixins use these helpers to read the application's structs and write results
back through its out pointers.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import xr

F = TypeVar("F", bound=Callable[..., Any])

SUCCESS = 0


class XrError(Exception):
    """An OpenXR function ends with a non-success (or qualified success) result.

    Raised inside an implementation; the dispatcher turns it into the return
    code.  Use :class:`Violation` when the application broke a rule of the spec.
    """

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or xr.Result(code).name)
        self.code = int(code)
        self.message = message


class Violation(XrError):
    """The application broke the OpenXR protocol; recorded in ``runtime.violations``."""


def xr_function(name: str, prototype: Any = None) -> Callable[[F], F]:
    """Mark a method as the implementation of the OpenXR function ``name``.

    The dispatcher wraps it in ``prototype`` (default ``xr.PFN_<name>``) so the
    loader can call it.  Pass a prototype where pyopenxr's typedef would copy an
    output buffer instead of passing its address (``char*`` outputs).
    """

    def mark(method: F) -> F:
        method.xr_name = name  # type: ignore[attr-defined]
        method.xr_prototype = prototype  # type: ignore[attr-defined]
        return method

    return mark


def handle_value(handle: Any) -> int:
    """The integer value of a handle argument (a ctypes pointer or an int); 0 for NULL."""
    if handle is None:
        return 0
    if isinstance(handle, int):
        return handle
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


def address_of(pointer: Any) -> int:
    """Address held by a ctypes pointer argument; 0 for NULL."""
    if pointer is None:
        return 0
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0


def write_u64(pointer: Any, value: int) -> None:
    """Store a 64-bit value (handle, path, system id) through an out pointer."""
    address = address_of(pointer)
    if not address:
        raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "NULL output pointer")
    ctypes.c_uint64.from_address(address).value = value


def read_struct(pointer: Any, struct_type: type[ctypes.Structure], expected: int | None = None) -> Any:
    """The struct a pointer argument points at, checking its ``type`` member.

    ``expected`` is the XrStructureType the struct must carry; a mismatch or
    NULL pointer is a :class:`Violation` with XR_ERROR_VALIDATION_FAILURE.
    """
    address = address_of(pointer)
    if not address:
        raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"NULL {struct_type.__name__} pointer")
    struct = struct_type.from_address(address)
    if expected is not None:
        found = structure_type_at(address)
        if found != expected:
            raise Violation(
                xr.Result.ERROR_VALIDATION_FAILURE,
                f"{struct_type.__name__} has type {type_name(found)}, expected {type_name(expected)}",
            )
    return struct


def structure_type_at(address: int) -> int:
    """The XrStructureType stored at the start of the struct at ``address``."""
    return ctypes.c_int.from_address(address).value


def next_pointer_at(address: int) -> int:
    """The ``next`` pointer of the struct at ``address`` (0 when the chain ends)."""
    return ctypes.c_void_p.from_address(address + ctypes.sizeof(ctypes.c_void_p)).value or 0


def find_in_chain(first: int, wanted: Sequence[int]) -> list[tuple[int, int]]:
    """Walk a next chain from ``first``; return (type, address) of structs whose type is in ``wanted``."""
    found = []
    address = first
    seen = 0
    while address and seen < 64:
        kind = structure_type_at(address)
        if kind in wanted:
            found.append((kind, address))
        address = next_pointer_at(address)
        seen += 1
    return found


def pointer_field(address: int, struct_type: type[ctypes.Structure], field: str) -> int:
    """Raw pointer stored in ``field`` of a struct at ``address`` (0 for NULL).

    Reads memory directly so it does not depend on how pyopenxr typed the field.
    """
    offset = getattr(struct_type, field).offset
    return ctypes.c_void_p.from_address(address + offset).value or 0


def type_name(value: int) -> str:
    """Readable name of an XrStructureType value."""
    try:
        return "XR_TYPE_" + xr.StructureType(value).name
    except ValueError:
        return f"XrStructureType({value})"


def two_call(capacity: int, count_out: Any, items: Sequence[Any], write: Callable[[int, Any], None]) -> int:
    """The spec's two-call idiom: report the count, or fill ``capacity`` slots.

    ``write(index, item)`` stores one element.  Returns the result code.
    """
    if not address_of(count_out):
        raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "NULL count output pointer")
    ctypes.c_uint32.from_address(address_of(count_out)).value = len(items)
    if capacity == 0:
        return SUCCESS
    if capacity < len(items):
        return int(xr.Result.ERROR_SIZE_INSUFFICIENT)
    for index, item in enumerate(items):
        write(index, item)
    return SUCCESS


def write_string(buffer_address: int, capacity: int, count_out: Any, text: str) -> int:
    """Two-call idiom for a NUL-terminated string output (``count`` includes the NUL)."""
    data = text.encode() + b"\0"
    if not address_of(count_out):
        raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "NULL count output pointer")
    ctypes.c_uint32.from_address(address_of(count_out)).value = len(data)
    if capacity == 0:
        return SUCCESS
    if capacity < len(data):
        return int(xr.Result.ERROR_SIZE_INSUFFICIENT)
    ctypes.memmove(buffer_address, data, len(data))
    return SUCCESS


def decode(raw: bytes) -> str:
    """A fixed-size char array field as text."""
    return raw.split(b"\0", 1)[0].decode(errors="replace")
