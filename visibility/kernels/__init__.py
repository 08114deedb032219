"""Numba kernels: plain arrays in, plain arrays out; no pandas, shapely or DuckDB.

Each public function validates its inputs and calls a private compiled kernel.
"""

from .geo import within_radius
from .h3 import cells_to_parents, latlng_to_cells
from .track import N_STATES, track_pass

__all__ = ["N_STATES", "cells_to_parents", "latlng_to_cells", "track_pass", "within_radius"]
