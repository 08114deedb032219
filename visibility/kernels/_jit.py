"""The numba decorators every kernel uses, defined once.

Both cache their machine code on disk so a second process starts in a fraction
of a second instead of compiling for several. Caching parallel kernels has
crashed other projects when the thread count changed between runs; here the
cached parallel kernels were run with NUMBA_NUM_THREADS=1 and 2 against a cache
built with the other count, and the test suite runs them both ways. A kernel
that cannot be cached (large global arrays, or querying the thread count
inside) makes numba warn, which the test suite turns into a failure.
"""

from numba import njit

jit = njit(cache=True, nogil=True, error_model="numpy")
pjit = njit(parallel=True, cache=True, nogil=True, error_model="numpy")
