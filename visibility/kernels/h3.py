"""H3 cell indexing (H3 v4 ``latLngToCell``) as numba kernels.

The results are bit-identical to h3-py 4.5 (which bundles the H3 C library
v4.5.0). The method is H3's published one:

1. the point becomes a unit vector; its icosahedron face is the face whose
   centre is nearest in 3D;
2. the point is projected gnomonically onto that face's plane, as polar
   coordinates (r, theta) with theta measured counter-clockwise from the
   face's i-axis (Class III, i.e. odd, resolutions rotated by the aperture-7
   angle) and r scaled so one hex at the target resolution is one unit;
3. the plane position is rounded to the containing hexagon (hex2d -> ijk);
4. walking from the target resolution up to res 0 with aperture-7 "up" steps
   (counter-clockwise at Class III resolutions, clockwise at Class II) gives
   one digit per level;
5. the res-0 ijk on the face gives the base cell and how many 60-degree turns
   take the face's orientation to the base cell's; the digits are turned to
   match (pentagons skip their deleted K-axis subsequence);
6. everything is packed into the 64-bit index.

Matching h3-py bit for bit at cell edges needs H3's own float arithmetic,
which costs about ten libm calls per point. The kernel runs a filtered
version instead. The face is H3's choice exactly (same distances, same
tie-break), but only faces that can be nearest within the point's 2-degree
lat/lng grid cell are tried. The plane position comes from two dot products
and one division; if it lies well inside its hexagon -- further from the
edges than any rounding difference between the two computations could move
it -- the cell is certainly the one H3 finds. Otherwise (a few random points
in 100,000 at the finest resolutions, fewer at coarse ones) the projection is
redone with H3's exact operation sequence. The array kernel works in blocks
of stages so the arithmetic-only stages vectorise.
Constants and tables: :mod:`._h3_tables`.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numba import prange

from visibility.errors import KernelInputError
from visibility.kernels._h3_tables import (
    BASE_CELL_CW_FACES, BASE_CELL_IS_PENTAGON, EPSILON, FACE_CENTER, FACE_EAST,
    FACE_FAST_AXES, FACE_GRID, FACE_GRID_STEP_DEG, FACE_I_AXIS_AZ, FACE_IJK_BASE_CELL,
    FACE_IJK_BASE_ROT, FACE_NORTH, H3_BC_OFFSET, H3_MODE_OFFSET, H3_RES_OFFSET,
    INV_RES0_U_GNOMONIC, M_2PI, M_AP7_ROT_RADS, M_PI_180, M_RSIN60, M_SQRT3_2, M_SQRT7,
    MAX_FACE_COORD, RES_SCALE,
)
from visibility.kernels._jit import jit, pjit

MAX_RES = 15

# The fast plane position may differ from H3's by rounding: a few 2**-52
# relative to the hexagon scale, plus 2**-54 / r from H3's acos(1 - d**2 / 2)
# near a face centre (r = angle to the centre). A point takes the exact path
# when it is closer to a hexagon edge than these bounds with a wide safety
# factor (2**12 and 2**10 times).
_TOL_ABS = 2.0**-40
_TOL_NEAR_CENTRE = 2.0**-44
_ONE_SEVENTH = 1.0 / 7.0
_INV_2PI = 1.0 / (2.0 * math.pi)
_GRID_PER_RAD = 180.0 / math.pi / FACE_GRID_STEP_DEG
_GRID_NLAT = FACE_GRID.shape[0]
_GRID_NLNG = FACE_GRID.shape[1]
_LOW_DIGIT_BITS = sum(1 << (3 * k) for k in range(MAX_RES))  # bit 0 of each digit
_DIGIT_BITS = (1 << (3 * MAX_RES)) - 1
_BLOCK = 256  # points per stage in the array kernel
_CHUNK = 64 * _BLOCK  # points per parallel task


# --- sphere -> face -----------------------------------------------------------


@jit
def _vec3(lat, lng):
    """Unit vector of a point given in radians (H3's ``latLngToVec3``)."""
    r = math.cos(lat)
    return math.cos(lng) * r, math.sin(lng) * r, math.sin(lat)


@jit
def _face_sqd(f, x, y, z):
    """Squared 3D distance from face centre ``f``, summed in H3's order."""
    dx = FACE_CENTER[f, 0] - x
    dy = FACE_CENTER[f, 1] - y
    dz = FACE_CENTER[f, 2] - z
    return dx * dx + dy * dy + dz * dz


@jit
def _closest_face(x, y, z):
    """H3's face search: the nearest of all 20 centres, lowest number on ties."""
    face = 0
    best = 5.0  # above any squared distance between points of the unit sphere
    for f in range(20):
        d2 = _face_sqd(f, x, y, z)
        if d2 < best:
            face = f
            best = d2
    return face, best


@jit
def _face_of(x, y, z, lat, lng):
    """Same answer as :func:`_closest_face`, trying only the grid cell's candidates."""
    if not (abs(lng) < 1e4 and abs(lat) <= 0.5 * math.pi):
        return _closest_face(x, y, z)
    a = min(int((lat + 0.5 * math.pi) * _GRID_PER_RAD), _GRID_NLAT - 1)
    turns = lng * _INV_2PI
    b = min(int((turns - np.floor(turns)) * 2.0 * math.pi * _GRID_PER_RAD), _GRID_NLNG - 1)
    face = 0
    best = 5.0
    for c in range(FACE_GRID.shape[2]):
        f = FACE_GRID[a, b, c]
        if f < 0:
            break
        d2 = _face_sqd(f, x, y, z)
        if d2 < best:
            face = f
            best = d2
    return face, best


# --- face -> plane position -----------------------------------------------------


@jit
def _pos_angle(a):
    """Bring an angle in (-2pi, 4pi) into [0, 2pi) the way H3 does."""
    out = a + M_2PI if a < 0.0 else a
    if a >= M_2PI:
        out -= M_2PI
    return out


@jit
def _hex2d_exact(x, y, z, face, sqd, res):
    """Plane position of a point on its face, with H3's exact arithmetic."""
    r = math.acos(1.0 - sqd * 0.5)
    if r < EPSILON:
        return 0.0, 0.0
    cx = FACE_CENTER[face, 0]
    cy = FACE_CENTER[face, 1]
    cz = FACE_CENTER[face, 2]
    # azimuth from the face centre: the point's component off the centre,
    # normalised, against the centre's local north and east
    d = x * cx + y * cy + z * cz
    px = x - d * cx
    py = y - d * cy
    pz = z - d * cz
    norm = math.sqrt(px * px + py * py + pz * pz)
    s = 1.0 / norm if norm > 0.0 else 0.0
    px *= s
    py *= s
    pz *= s
    east = px * FACE_EAST[face, 0] + py * FACE_EAST[face, 1] + pz * FACE_EAST[face, 2]
    north = px * FACE_NORTH[face, 0] + py * FACE_NORTH[face, 1] + pz * FACE_NORTH[face, 2]
    azimuth = math.atan2(east, north)
    theta = _pos_angle(FACE_I_AXIS_AZ[face] - _pos_angle(azimuth))
    if res % 2 == 1:
        theta = _pos_angle(theta - M_AP7_ROT_RADS)
    r = math.tan(r) * INV_RES0_U_GNOMONIC
    for _ in range(res):  # one rounding per level, as H3 does
        r *= M_SQRT7
    return r * math.cos(theta), r * math.sin(theta)


@jit
def _hex2d_fast(x, y, z, face, res):
    """Plane position of a point on its face, via dot products (not bit-exact)."""
    k = res % 2
    f = RES_SCALE[res] / (x * FACE_CENTER[face, 0] + y * FACE_CENTER[face, 1]
                          + z * FACE_CENTER[face, 2])
    vx = (x * FACE_FAST_AXES[face, k, 0] + y * FACE_FAST_AXES[face, k, 1]
          + z * FACE_FAST_AXES[face, k, 2]) * f
    vy = (x * FACE_FAST_AXES[face, k, 3] + y * FACE_FAST_AXES[face, k, 4]
          + z * FACE_FAST_AXES[face, k, 5]) * f
    return vx, vy


@jit
def _tolerance(sqd, res):
    """How far inside its hexagon a fast position must be to be trusted."""
    chord = math.sqrt(max(sqd, 1e-300))
    return RES_SCALE[res] * (_TOL_ABS + _TOL_NEAR_CENTRE / chord)


# --- plane position -> hexagon ----------------------------------------------------
# Hexagon centres sit at (i - j/2, j * sqrt(3)/2) for axial coordinates
# (i, j) = (I - K, J - K) of H3's ijk; neighbouring centres are 1 apart.


@jit
def _hex2d_to_axial(vx, vy):
    """H3's (DGGRID's) rounding of a plane position to its hexagon, as axial ints.

    Rounds |x|, |y| to a hexagon of the first quadrant by rules on the
    fractional parts, then mirrors the result back across the axes.
    """
    a1 = abs(vx)
    a2 = abs(vy)
    x2 = a2 * M_RSIN60
    x1 = a1 + x2 / 2.0
    m1 = int(x1)
    m2 = int(x2)
    r1 = x1 - m1
    r2 = x2 - m2
    if r1 < 0.5:
        if r1 < 1.0 / 3.0:
            i = m1
            j = m2 if r2 < (1.0 + r1) / 2.0 else m2 + 1
        else:
            j = m2 if r2 < 1.0 - r1 else m2 + 1
            i = m1 + 1 if (1.0 - r1) <= r2 and r2 < 2.0 * r1 else m1
    elif r1 < 2.0 / 3.0:
        j = m2 if r2 < 1.0 - r1 else m2 + 1
        i = m1 if (2.0 * r1 - 1.0) < r2 and r2 < 1.0 - r1 else m1 + 1
    else:
        i = m1 + 1
        j = m2 if r2 < r1 / 2.0 else m2 + 1
    # mirror across the y axis, then the x axis (j >= 0 here)
    if vx < 0.0:
        if j % 2 == 0:
            i = int(i - 2.0 * (i - j // 2))
        else:
            i = int(i - (2.0 * (i - (j + 1) // 2) + 1.0))
    if vy < 0.0:
        i = i - (2 * j + 1) // 2
        j = -j
    # k is 0, so these are already the axial coordinates
    return i, j


@jit
def _nearest_hex(vx, vy):
    """Nearest hexagon centre (i, j as floats) and how far inside it the point is.

    Cube rounding, branch-light so loops over it vectorise. The depth is 1/2
    minus the largest projection of the offset from the centre on the three
    centre-to-neighbour directions; it is negative if rounding picked wrong.
    """
    fj = vy * M_RSIN60
    q = vx + 0.5 * fj - fj  # cube coordinates q + r + s = 0, r = j, i = q + r
    s = -q - fj
    rq = np.floor(q + 0.5)
    rr = np.floor(fj + 0.5)
    rs = np.floor(s + 0.5)
    dq = abs(rq - q)
    dr = abs(rr - fj)
    ds = abs(rs - s)
    if dq > dr and dq > ds:
        rq = -rr - rs
    elif dr > ds:
        rr = -rq - rs
    i = rq + rr
    j = rr
    dx = vx - (i - 0.5 * j)
    dy = vy - j * M_SQRT3_2
    h = max(abs(dx), abs(0.5 * dx + M_SQRT3_2 * dy), abs(M_SQRT3_2 * dy - 0.5 * dx))
    return i, j, 0.5 - h


# --- hexagon -> index -----------------------------------------------------------


@jit
def _parent_digit(i, j, level):
    """Parent hexagon (axial, floats) one level up, and the child's digit.

    Class III levels (odd) step up counter-clockwise, Class II clockwise.
    ``floor(n / 7 + 1/2)`` is H3's lround(n / 7): n / 7 is never a tie.
    The offset from the parent's centre is a unit ijk vector (or zero) whose
    digit is 4 I + 2 J + K; in axial terms K = 1 exactly when it has a
    negative part.
    """
    if level % 2 == 1:
        pi = np.floor((3.0 * i - j) * _ONE_SEVENTH + 0.5)
        pj = np.floor((i + 2.0 * j) * _ONE_SEVENTH + 0.5)
        di = i - (2.0 * pi + pj)
        dj = j - (3.0 * pj - pi)
    else:
        pi = np.floor((2.0 * i + j) * _ONE_SEVENTH + 0.5)
        pj = np.floor((3.0 * j - i) * _ONE_SEVENTH + 0.5)
        di = i - (3.0 * pi - pj)
        dj = j - (pi + 2.0 * pj)
    k = 1.0 if min(di, dj) < 0.0 else 0.0
    return pi, pj, 4.0 * di + 2.0 * dj + 7.0 * k


@jit
def _rotate_digits(h, turns):
    """Turn all 15 digits of an index by ``turns`` * 60 degrees counter-clockwise.

    Works on the three bit planes (I, J, K bits of every digit) at once;
    digits 0 and 7 (unused) map to themselves.
    """
    for _ in range(turns):
        i = (h >> 2) & _LOW_DIGIT_BITS
        j = (h >> 1) & _LOW_DIGIT_BITS
        k = h & _LOW_DIGIT_BITS
        a = i & j & k
        ni = (~j & (i | k)) | a
        nj = ((i | j) & ~k) | a
        nk = (~i & (j | k)) | a
        h = (h & ~_DIGIT_BITS) | (ni << 2) | (nj << 1) | nk
    return h


@jit
def _leading_digit(h, res):
    """First non-zero digit of an index (0 when all are zero)."""
    for r in range(1, res + 1):
        d = (h >> (3 * (MAX_RES - r))) & 7
        if d != 0:
            return d
    return 0


@jit
def _rotate_pentagon_ccw(h, res):
    """Turn a pentagon index 60 degrees ccw, stepping over the deleted K subsequence."""
    h = _rotate_digits(h, 1)
    if _leading_digit(h, res) == 1:
        h = _rotate_digits(h, 1)
    return h


@jit
def _finish_cell(face, i, j, digits, res):
    """Pack the index from the face, res-0 axial (i, j) and digits 1..res.

    ``digits`` holds digit r at bits 3 * (15 - r); the rest are filled with 7.
    """
    k = 0  # normalise ijk (i, j, 0): no negative parts, one part 0
    if i < 0:
        j -= i
        k -= i
        i = 0
    if j < 0:
        i -= j
        k -= j
        j = 0
    m = min(i, j, k)
    i -= m
    j -= m
    k -= m
    if i > MAX_FACE_COORD or j > MAX_FACE_COORD or k > MAX_FACE_COORD:
        return 0  # H3_NULL; cannot happen for a point on the sphere
    slot = 9 * i + 3 * j + k
    base_cell = FACE_IJK_BASE_CELL[face, slot]
    turns = FACE_IJK_BASE_ROT[face, slot]
    h = ((1 << H3_MODE_OFFSET) | (res << H3_RES_OFFSET) | (base_cell << H3_BC_OFFSET)
         | digits | ((1 << (3 * (MAX_RES - res))) - 1))
    if BASE_CELL_IS_PENTAGON[base_cell] == 1:
        if _leading_digit(h, res) == 1:
            # the K-axis subsequence is deleted: turn out of it, clockwise on
            # the pentagon's clockwise-offset faces
            if BASE_CELL_CW_FACES[base_cell, 0] == face or BASE_CELL_CW_FACES[base_cell, 1] == face:
                h = _rotate_digits(h, 5)
            else:
                h = _rotate_digits(h, 1)
        for _ in range(turns):
            h = _rotate_pentagon_ccw(h, res)
    else:
        h = _rotate_digits(h, turns)
    return h


@jit
def _axial_to_cell(face, i, j, res):
    """The index of hexagon (i, j) at ``res`` on ``face`` (H3's ``_faceIjkToH3``)."""
    fi = float(i)
    fj = float(j)
    digits = 0
    for level in range(res, 0, -1):
        fi, fj, d = _parent_digit(fi, fj, level)
        digits |= int(d) << (3 * (MAX_RES - level))
    return _finish_cell(face, int(fi), int(fj), digits, res)


# --- kernels --------------------------------------------------------------------


@jit
def _latlng_to_cell(lat_rad, lng_rad, res):
    """H3 index (as int64) of a point in radians: fast path, exact when near an edge."""
    x, y, z = _vec3(lat_rad, lng_rad)
    face, sqd = _face_of(x, y, z, lat_rad, lng_rad)
    vx, vy = _hex2d_fast(x, y, z, face, res)
    fi, fj, depth = _nearest_hex(vx, vy)
    if depth > _tolerance(sqd, res):
        return _axial_to_cell(face, int(fi), int(fj), res)
    vx, vy = _hex2d_exact(x, y, z, face, sqd, res)
    i, j = _hex2d_to_axial(vx, vy)
    return _axial_to_cell(face, i, j, res)


@jit
def _latlng_to_cell_exact(lat_rad, lng_rad, res):
    """Always H3's own sequence: full face search and exact projection (for tests)."""
    x, y, z = _vec3(lat_rad, lng_rad)
    face, sqd = _closest_face(x, y, z)
    vx, vy = _hex2d_exact(x, y, z, face, sqd, res)
    i, j = _hex2d_to_axial(vx, vy)
    return _axial_to_cell(face, i, j, res)


@jit
def _cells_range(lat, lng, res, out, start, stop):
    """Cells of points start..stop-1 (degrees), in blocks of stages.

    Stages that only do arithmetic (nearest hexagon, the walk up the levels)
    run as separate loops over a block so the compiler can vectorise them;
    the libm calls and table look-ups stay in scalar loops.
    """
    face = np.empty(_BLOCK, np.int64)
    sqd = np.empty(_BLOCK)
    vx = np.empty(_BLOCK)
    vy = np.empty(_BLOCK)
    fi = np.empty(_BLOCK)
    fj = np.empty(_BLOCK)
    acc = np.empty(_BLOCK)
    ok = np.empty(_BLOCK, np.bool_)
    for b0 in range(start, stop, _BLOCK):
        m = min(_BLOCK, stop - b0)
        for p in range(m):  # unit vector, face, fast plane position
            la = lat[b0 + p] * M_PI_180
            ln = lng[b0 + p] * M_PI_180
            x, y, z = _vec3(la, ln)
            face[p], sqd[p] = _face_of(x, y, z, la, ln)
            vx[p], vy[p] = _hex2d_fast(x, y, z, face[p], res)
        for p in range(m):  # nearest hexagon, trusted if deep enough inside
            fi[p], fj[p], depth = _nearest_hex(vx[p], vy[p])
            ok[p] = depth > _tolerance(sqd[p], res)
        for p in range(m):  # H3's exact projection for the rest
            if not ok[p]:
                x, y, z = _vec3(lat[b0 + p] * M_PI_180, lng[b0 + p] * M_PI_180)
                vx[p], vy[p] = _hex2d_exact(x, y, z, face[p], sqd[p], res)
                i, j = _hex2d_to_axial(vx[p], vy[p])
                fi[p] = i
                fj[p] = j
        acc[:m] = 0.0
        for level in range(res, 0, -1):  # walk up, digits as exact float sums
            place = float(1 << (3 * (MAX_RES - level)))
            for p in range(m):
                fi[p], fj[p], d = _parent_digit(fi[p], fj[p], level)
                acc[p] += d * place
        for p in range(m):
            out[b0 + p] = _finish_cell(face[p], int(fi[p]), int(fj[p]), int(acc[p]), res)


@pjit
def _latlng_to_cells(lat, lng, res, out):
    """Fill ``out`` with the cells of points given in degrees; threads own slices."""
    n = lat.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        _cells_range(lat, lng, res, out, c * _CHUNK, min(n, (c + 1) * _CHUNK))


@jit
def _latlng_to_cells_exact(lat, lng, res, out):
    """Serial loop of :func:`_latlng_to_cell_exact` over points in degrees (for tests)."""
    for k in range(lat.shape[0]):
        out[k] = _latlng_to_cell_exact(lat[k] * M_PI_180, lng[k] * M_PI_180, res)


@jit
def _count_exact_fallbacks(lat, lng, res):
    """How many points (degrees) the fast path hands to the exact projection."""
    count = 0
    for k in range(lat.shape[0]):
        la = lat[k] * M_PI_180
        ln = lng[k] * M_PI_180
        x, y, z = _vec3(la, ln)
        face, sqd = _face_of(x, y, z, la, ln)
        vx, vy = _hex2d_fast(x, y, z, face, res)
        depth = _nearest_hex(vx, vy)[2]
        if not depth > _tolerance(sqd, res):
            count += 1
    return count


@pjit
def _count_bad_points(lat, lng):
    """Number of points with a NaN or infinite coordinate or |lat| > 90 degrees."""
    bad = 0
    for k in prange(lat.shape[0]):
        if not (abs(lat[k]) <= 90.0 and abs(lng[k]) < np.inf):  # NaN fails both
            bad += 1
    return bad


# --- public wrappers --------------------------------------------------------------


def _check_res(res):
    """An int 0..15 from ``res``, or KernelInputError."""
    try:
        if isinstance(res, (bool, np.bool_)):
            raise TypeError
        value = operator.index(res)
    except TypeError:
        raise KernelInputError(f"res must be an integer 0-15, got {res!r}") from None
    if not 0 <= value <= MAX_RES:
        raise KernelInputError(f"res must be 0-15, got {value}")
    return value


def _points(lat_deg, lng_deg):
    """Validated contiguous float64 copies (or views) of the coordinate arrays."""
    try:
        lat = np.ascontiguousarray(lat_deg, dtype=np.float64)
        lng = np.ascontiguousarray(lng_deg, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise KernelInputError(f"coordinates must be numeric arrays: {exc}") from None
    if lat.ndim != 1 or lng.ndim != 1:
        raise KernelInputError(
            f"lat and lng must be 1-D arrays, got {lat.ndim}-D and {lng.ndim}-D")
    if lat.shape != lng.shape:
        raise KernelInputError(
            f"lat and lng must have the same length, got {lat.shape[0]} and {lng.shape[0]}")
    if _count_bad_points(lat, lng):
        _raise_bad_points(lat, lng)
    return lat, lng


def _raise_bad_points(lat, lng):
    """Raise KernelInputError describing the first non-finite or out-of-range point."""
    bad = ~(np.isfinite(lat) & np.isfinite(lng))
    if bad.any():
        k = int(np.argmax(bad))
        raise KernelInputError(
            f"{int(bad.sum())} point(s) have NaN or infinite coordinates "
            f"(first at index {k}: lat={lat[k]!r}, lng={lng[k]!r})")
    k = int(np.argmax(np.abs(lat) > 90.0))
    raise KernelInputError(
        f"{int((np.abs(lat) > 90.0).sum())} latitude(s) outside [-90, 90] "
        f"(first at index {k}: {lat[k]!r})")


def latlng_to_cells(lat_deg, lng_deg, res) -> np.ndarray:
    """H3 cells (uint64) at resolution ``res`` of points given in degrees.

    Same cells as ``h3.latlng_to_cell`` point by point. Longitudes may take
    any finite value; like H3, they wrap through their sine and cosine.
    """
    res = _check_res(res)
    lat, lng = _points(lat_deg, lng_deg)
    out = np.empty(lat.shape[0], dtype=np.uint64)
    _latlng_to_cells(lat, lng, res, out)
    return out


def _cells(cells):
    """Validated uint64 array of H3 cell indexes."""
    try:
        arr = np.ascontiguousarray(cells)
    except (TypeError, ValueError) as exc:
        raise KernelInputError(f"cells must be an integer array: {exc}") from None
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise KernelInputError(f"cells must be a 1-D integer array, got {arr.ndim}-D {arr.dtype}")
    arr = arr.astype(np.uint64, copy=False)  # negative ints fail the mode check below
    mode = (arr >> np.uint64(H3_MODE_OFFSET)) & np.uint64(31)
    if (mode != 1).any():
        k = int(np.argmax(mode != 1))
        raise KernelInputError(f"not an H3 cell index at position {k}: {int(arr[k]):#x}")
    return arr


def cell_resolutions(cells) -> np.ndarray:
    """Resolution (uint8) of each H3 cell."""
    arr = _cells(cells)
    return ((arr >> np.uint64(H3_RES_OFFSET)) & np.uint64(15)).astype(np.uint8)


def cells_to_parents(cells, res) -> np.ndarray:
    """Parent cells (uint64) at the coarser resolution ``res`` (same as ``h3.cell_to_parent``)."""
    res = _check_res(res)
    arr = _cells(cells)
    own = (arr >> np.uint64(H3_RES_OFFSET)) & np.uint64(15)
    finer = own < res
    if finer.any():
        k = int(np.argmax(finer))
        raise KernelInputError(
            f"parent resolution {res} is finer than cell {int(arr[k]):#x} "
            f"(resolution {int(own[k])}) at position {k}")
    unused = np.uint64((1 << (3 * (MAX_RES - res))) - 1)  # digits res+1..15 -> 7
    res_mask = np.uint64(15 << H3_RES_OFFSET)
    return (arr & ~res_mask) | np.uint64(res << H3_RES_OFFSET) | unused
