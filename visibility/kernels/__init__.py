"""Numba kernels: plain arrays in, plain arrays out; no pandas, shapely or DuckDB.

Each public function validates its inputs and calls a private compiled kernel.
"""

from .geo import within_radius
from .h3 import cells_to_parents, latlng_to_cells
from .pip import PolygonIndex, build_polygon_index, first_covering_polygon, polygon_covers_xy
from .track import N_STATES, track_pass
from .visits import clip_to_windows, group_ptr, merge_intervals, slot_totals, window_gaps

__all__ = ["N_STATES", "PolygonIndex", "build_polygon_index", "cells_to_parents",
           "first_covering_polygon", "latlng_to_cells", "polygon_covers_xy", "track_pass",
           "within_radius",
           "clip_to_windows", "group_ptr", "merge_intervals", "slot_totals", "window_gaps"]
