"""What the fmtb notebooks import; the ``fmtb`` command is a separate package using it."""
import ctypes as _ctypes
import os as _os

__version__ = "0.1.0"

# glibc raises its mmap threshold as large blocks are freed, then keeps them: a kernel
# that trains (05) held 0.13 GB more (make bench-memory). Fixed thresholds give them back.
# Only where glibc is: os.confstr_names exists on Unix only (not on Windows), and names
# CS_GNU_LIBC_VERSION with glibc only (not on macOS or musl).
if "CS_GNU_LIBC_VERSION" in getattr(_os, "confstr_names", {}):
    for _option in (-3, -1):  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        _ctypes.CDLL(None).mallopt(_option, 128 * 1024)
