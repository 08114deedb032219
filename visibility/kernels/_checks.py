"""Input checks the kernel wrappers share."""

from __future__ import annotations

import numpy as np

from ..errors import KernelInputError


def as_1d(arr, dtype, name: str) -> np.ndarray:
    """``arr`` as a contiguous one-dimensional array of ``dtype``, or KernelInputError."""
    a = np.asarray(arr)
    if a.ndim != 1:
        raise KernelInputError(f"{name} must be one-dimensional")
    return np.ascontiguousarray(a, dtype=dtype)
