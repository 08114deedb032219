"""The numba decorators every kernel uses, defined once.

``jit`` compiles a serial kernel and caches the machine code on disk, so a
second process starts fast. ``pjit`` compiles a parallel kernel; it is not
cached, because cached parallel code has crashed other projects when the
thread count changed between runs.
"""

from numba import njit

jit = njit(cache=True, nogil=True, error_model="numpy")
pjit = njit(parallel=True, nogil=True, error_model="numpy")
