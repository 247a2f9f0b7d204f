"""The lifetime of an object of a native (ctypes) simulator library, shared by RTLCore (edge_sdk/sim/rtlcore.py)
and CoSim (edge_sdk/sim/cosim.py): the handle is freed by close(), at the end of a `with` block or when the
object is collected, and every call through it after that raises EdgeSdkError."""
from __future__ import annotations

import ctypes
from typing import Self

from edge_sdk.errors import EdgeSdkError


class NativeHandle:
    """A handle (`_handle`) of the library `_lib`, both set by the subclass's __init__.

    Subclasses name the library's functions that free the handle (`_free_fn`) and fill a `_status_type`
    structure (`_status_fn`), and the message of a call after close (`_closed_message`, formatted with the
    subclass's `elf`)."""

    _free_fn: str
    _status_fn: str
    _status_type: type[ctypes.Structure]
    _closed_message: str
    _handle = None       # until __init__ has one: close() and __del__ then have nothing to free

    def close(self) -> None:
        """Free the handle (a second close does nothing)."""
        if self._handle:
            getattr(self._lib, self._free_fn)(self._handle)
            self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _call(self, name: str, *args):
        """The library function `name` called with the handle and `args`."""
        if not self._handle:
            raise EdgeSdkError(self._closed_message.format(elf=self.elf))
        return getattr(self._lib, name)(self._handle, *args)

    def _status(self):
        """A `_status_type` filled by `_status_fn`."""
        status = self._status_type()
        self._call(self._status_fn, ctypes.byref(status))
        return status
