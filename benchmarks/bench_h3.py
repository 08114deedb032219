"""H3 cells of points: visibility's numba kernel against h3-py and h3ronpy.

    python benchmarks/bench_h3.py --points 1000000
    python benchmarks/bench_h3.py --points 10000000 --res 10

Random points over Greater London (seeded), then in one run:

1. visibility.kernels.latlng_to_cells on all points: one warm-up call (numba
   compiles, or loads its on-disk cache), then the best of 3;
2. h3-py's scalar function in a Python loop, ``h3.latlng_to_cell`` (hex
   strings) and ``h3.api.numpy_int.latlng_to_cell`` (ints), each collected with
   ``np.fromiter``, on a subset (1,000,000 points by default) and scaled;
3. h3ronpy's vectorised ``coordinates_to_cells`` (Rust, h3o) on all points,
   best of 3, in its own virtual environment benchmarks/_venv_h3ronpy/ made by
   this script (not a project dependency); skipped with the reason if it
   cannot be installed.

Checks that every tool gives the same cells on the subset, and prints points
per second and the ratio (visibility's rate / the tool's rate).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, machine, peak_rss_gib  # noqa: E402
from peers import PeerUnavailable, available_versions, peer_python, ready_peer, run_child  # noqa: E402
from points import london_points  # noqa: E402
from revision import revision  # noqa: E402

REPEATS = 3

H3RONPY_CHILD = r"""
import json, sys, time
import numpy as np
import h3ronpy
from h3ronpy.vector import coordinates_to_cells

folder, res, n_check, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat = np.load(folder + "/lat.npy")
lng = np.load(folder + "/lng.npy")
coordinates_to_cells(lat[:1000], lng[:1000], res)  # warm-up
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    cells = np.asarray(coordinates_to_cells(lat, lng, res))
    best = min(best, time.perf_counter() - start)
np.save(folder + "/cells_h3ronpy.npy", cells[:n_check].astype(np.uint64))
print(json.dumps({"seconds": best, "version": h3ronpy.__version__}))
"""


def best_of(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_h3ronpy(lat, lng, res: int, n_check: int, folder: Path):
    """(seconds for all points, cells of the first n_check points, version) or PeerUnavailable."""
    probe = "from h3ronpy.vector import coordinates_to_cells"
    python = ready_peer("h3ronpy", probe)
    if python is None:  # newest release; its API has been stable since 0.21
        python = peer_python("h3ronpy", [f"h3ronpy=={available_versions('h3ronpy')[0]}"], probe)
    np.save(folder / "lat.npy", lat)
    np.save(folder / "lng.npy", lng)
    try:
        out = run_child(python, ["-c", H3RONPY_CHILD, str(folder), str(res), str(n_check), str(REPEATS)])
        cells = np.load(folder / "cells_h3ronpy.npy")
    finally:
        for name in ("lat.npy", "lng.npy", "cells_h3ronpy.npy"):
            (folder / name).unlink(missing_ok=True)
    return out["seconds"], cells, out["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000_000, help="points for the vectorised tools")
    parser.add_argument("--res", type=int, default=10, help="H3 resolution (0-15)")
    parser.add_argument("--subset", type=int, default=1_000_000,
                        help="points for the h3-py loops and the agreement check")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold-jit", action="store_true",
                        help="compile the kernel from scratch (empty numba cache) for the warm-up figure")
    parser.add_argument("--skip-h3ronpy", action="store_true", help="do not make or use the h3ronpy venv")
    args = parser.parse_args()
    if args.cold_jit:  # before numba is imported; the empty cache is removed on exit
        cold_cache = tempfile.mkdtemp(prefix="numba_cold_")
        atexit.register(shutil.rmtree, cold_cache, ignore_errors=True)
        os.environ["NUMBA_CACHE_DIR"] = cold_cache

    import h3
    import h3.api.numpy_int as h3_int
    import numba

    from visibility.kernels import latlng_to_cells
    from visibility.kernels.h3 import _latlng_to_cells

    n, res = args.points, args.res
    n_sub = min(args.subset, n)
    print(f"machine: {machine()}")
    print(f"visibility: {revision()}")
    print(f"numba {numba.__version__} with {numba.get_num_threads()} threads; h3-py {h3.__version__}")
    lat, lng = london_points(n, args.seed)
    print(f"{n:,} random points over Greater London (seed {args.seed}), H3 resolution {res}; "
          f"h3-py loops and agreement on the first {n_sub:,}\n")
    rates: dict[str, float] = {}
    notes: dict[str, str] = {}
    check: dict[str, np.ndarray] = {}

    start = time.perf_counter()
    latlng_to_cells(lat[:1000], lng[:1000], res)
    warm_s = time.perf_counter() - start
    hits = sum(_latlng_to_cells.stats.cache_hits.values())
    how = "loaded from numba's cache" if hits else "compiled"
    print(f"visibility warm-up (first call, {how}): {warm_s:.2f} s")
    seconds, ours = best_of(lambda: latlng_to_cells(lat, lng, res))
    rates["visibility latlng_to_cells (numba)"] = n / seconds
    notes["visibility latlng_to_cells (numba)"] = f"all {n:,}, best of {REPEATS}"
    check["visibility latlng_to_cells (numba)"] = ours[:n_sub]
    print(f"visibility: {seconds:.3f} s for {n:,} points")

    sub_lat, sub_lng = lat[:n_sub], lng[:n_sub]
    start = time.perf_counter()
    strs = np.fromiter((h3.latlng_to_cell(a, b, res) for a, b in zip(sub_lat.tolist(), sub_lng.tolist())),
                       dtype=object, count=n_sub)
    seconds = time.perf_counter() - start
    rates["h3-py latlng_to_cell loop (str)"] = n_sub / seconds
    notes["h3-py latlng_to_cell loop (str)"] = f"{n_sub:,}, scaled"
    check["h3-py latlng_to_cell loop (str)"] = np.array([h3.str_to_int(s) for s in strs], dtype=np.uint64)
    print(f"h3-py str loop: {seconds:.3f} s for {n_sub:,} points")

    start = time.perf_counter()
    ints = np.fromiter((h3_int.latlng_to_cell(a, b, res) for a, b in zip(sub_lat.tolist(), sub_lng.tolist())),
                       dtype=np.uint64, count=n_sub)
    seconds = time.perf_counter() - start
    rates["h3-py numpy_int loop (uint64)"] = n_sub / seconds
    notes["h3-py numpy_int loop (uint64)"] = f"{n_sub:,}, scaled"
    check["h3-py numpy_int loop (uint64)"] = ints
    print(f"h3-py numpy_int loop: {seconds:.3f} s for {n_sub:,} points")

    if args.skip_h3ronpy:
        print("h3ronpy: skipped (--skip-h3ronpy)")
    else:
        folder = WORK / "h3"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            seconds, cells, version = run_h3ronpy(lat, lng, res, n_sub, folder)
        except PeerUnavailable as exc:
            print(f"h3ronpy: not measured: {exc}")
        else:
            name = f"h3ronpy {version} coordinates_to_cells"
            rates[name] = n / seconds
            notes[name] = f"all {n:,}, best of {REPEATS}, own venv"
            check[name] = cells
            print(f"h3ronpy: {seconds:.3f} s for {n:,} points")

    reference = check["h3-py numpy_int loop (uint64)"]
    print(f"\nagreement with h3-py on {n_sub:,} points:")
    for name, cells in check.items():
        same = int(np.count_nonzero(cells == reference))
        print(f"  {name:<40} {same:>12,} identical ({n_sub - same:,} differ)")

    ours_rate = rates["visibility latlng_to_cells (numba)"]
    print(f"\n{'tool':<40} {'points/s':>14} {'ours/tool':>10}  measured on")
    for name, rate in rates.items():
        print(f"{name:<40} {rate:>14,.0f} {ours_rate / rate:>9.1f}x  {notes[name]}")
    print(f"\npeak RSS of this process {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
