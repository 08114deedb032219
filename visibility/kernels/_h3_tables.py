"""Constant tables for the H3 kernel in :mod:`visibility.kernels.h3`.

The numbers are published facts of the H3 grid, taken from the H3 C library
v4.5.0 (github.com/uber/h3, Apache-2.0; the same library h3-py 4.5 bundles):

* ``src/h3lib/include/constants.h`` -- scalar constants;
* ``src/h3lib/lib/faceijk.c`` -- ``faceCenterPoint`` (unit vectors of the 20
  icosahedron face centres) and column 0 of ``faceAxesAzRadsCII`` (azimuth of
  each face's Class II i-axis);
* ``src/h3lib/lib/baseCells.c`` -- ``faceIjkBaseCells`` (base cell and ccw
  60-degree rotations for each face and res-0 ijk in 0..2) and the pentagon
  rows of ``baseCellData`` (which base cells are pentagons and their two
  clockwise-offset faces).

Everything below the literal tables is derived from them at import time. All
arrays are plain numpy arrays so numba freezes them into the compiled code.
Integer tables that enter arithmetic are int64 on purpose: the kernels also
run as plain Python (NUMBA_DISABLE_JIT=1), where small integer dtypes would
overflow in shifts. ``FACE_GRID`` (face numbers, used only as indices) is int8.
"""

import math

import numpy as np

# --- scalar constants (constants.h); Python parses these decimal literals to
# the same nearest doubles a C compiler does.
M_PI_180 = 0.0174532925199432957692369076848861271111  # degrees -> radians
M_2PI = 6.28318530717958647692528676655900576839433
EPSILON = 0.0000000000000001
M_SQRT3_2 = 0.8660254037844386467637231707529361834714
M_RSIN60 = 1.1547005383792515290182975610039149112953
M_AP7_ROT_RADS = 0.333473172251832115336090755351601070065900389
INV_RES0_U_GNOMONIC = 2.61803398874989588842
M_SQRT7 = 2.6457513110645905905016157536392604257102  # faceijk.c
MAX_FACE_COORD = 2
NUM_BASE_CELLS = 122

# bit positions of the index fields (h3Index.h)
H3_MODE_OFFSET = 59
H3_RES_OFFSET = 52
H3_BC_OFFSET = 45

# --- literal tables

# (base cell, ccw rotations) for face f, res-0 ijk (i, j, k); 27 per face,
# ordered i-major then j then k.
_FACE_IJK_BASE_CELLS = (
    # face 0
    16,0, 18,0, 24,0, 33,0, 30,0, 32,3, 49,1, 48,3, 50,3,
    8,0, 5,5, 10,5, 22,0, 16,0, 18,0, 41,1, 33,0, 30,0,
    4,0, 0,5, 2,5, 15,1, 8,0, 5,5, 31,1, 22,0, 16,0,
    # face 1
    2,0, 6,0, 14,0, 10,0, 11,0, 17,3, 24,1, 23,3, 25,3,
    0,0, 1,5, 9,5, 5,0, 2,0, 6,0, 18,1, 10,0, 11,0,
    4,1, 3,5, 7,5, 8,1, 0,0, 1,5, 16,1, 5,0, 2,0,
    # face 2
    7,0, 21,0, 38,0, 9,0, 19,0, 34,3, 14,1, 20,3, 36,3,
    3,0, 13,5, 29,5, 1,0, 7,0, 21,0, 6,1, 9,0, 19,0,
    4,2, 12,5, 26,5, 0,1, 3,0, 13,5, 2,1, 1,0, 7,0,
    # face 3
    26,0, 42,0, 58,0, 29,0, 43,0, 62,3, 38,1, 47,3, 64,3,
    12,0, 28,5, 44,5, 13,0, 26,0, 42,0, 21,1, 29,0, 43,0,
    4,3, 15,5, 31,5, 3,1, 12,0, 28,5, 7,1, 13,0, 26,0,
    # face 4
    31,0, 41,0, 49,0, 44,0, 53,0, 61,3, 58,1, 65,3, 75,3,
    15,0, 22,5, 33,5, 28,0, 31,0, 41,0, 42,1, 44,0, 53,0,
    4,4, 8,5, 16,5, 12,1, 15,0, 22,5, 26,1, 28,0, 31,0,
    # face 5
    50,0, 48,0, 49,3, 32,0, 30,3, 33,3, 24,3, 18,3, 16,3,
    70,0, 67,0, 66,3, 52,3, 50,0, 48,0, 37,3, 32,0, 30,3,
    83,0, 87,3, 85,3, 74,3, 70,0, 67,0, 57,1, 52,3, 50,0,
    # face 6
    25,0, 23,0, 24,3, 17,0, 11,3, 10,3, 14,3, 6,3, 2,3,
    45,0, 39,0, 37,3, 35,3, 25,0, 23,0, 27,3, 17,0, 11,3,
    63,0, 59,3, 57,3, 56,3, 45,0, 39,0, 46,3, 35,3, 25,0,
    # face 7
    36,0, 20,0, 14,3, 34,0, 19,3, 9,3, 38,3, 21,3, 7,3,
    55,0, 40,0, 27,3, 54,3, 36,0, 20,0, 51,3, 34,0, 19,3,
    72,0, 60,3, 46,3, 73,3, 55,0, 40,0, 71,3, 54,3, 36,0,
    # face 8
    64,0, 47,0, 38,3, 62,0, 43,3, 29,3, 58,3, 42,3, 26,3,
    84,0, 69,0, 51,3, 82,3, 64,0, 47,0, 76,3, 62,0, 43,3,
    97,0, 89,3, 71,3, 98,3, 84,0, 69,0, 96,3, 82,3, 64,0,
    # face 9
    75,0, 65,0, 58,3, 61,0, 53,3, 44,3, 49,3, 41,3, 31,3,
    94,0, 86,0, 76,3, 81,3, 75,0, 65,0, 66,3, 61,0, 53,3,
    107,0, 104,3, 96,3, 101,3, 94,0, 86,0, 85,3, 81,3, 75,0,
    # face 10
    57,0, 59,0, 63,3, 74,0, 78,3, 79,3, 83,3, 92,3, 95,3,
    37,0, 39,3, 45,3, 52,0, 57,0, 59,0, 70,3, 74,0, 78,3,
    24,0, 23,3, 25,3, 32,3, 37,0, 39,3, 50,3, 52,0, 57,0,
    # face 11
    46,0, 60,0, 72,3, 56,0, 68,3, 80,3, 63,3, 77,3, 90,3,
    27,0, 40,3, 55,3, 35,0, 46,0, 60,0, 45,3, 56,0, 68,3,
    14,0, 20,3, 36,3, 17,3, 27,0, 40,3, 25,3, 35,0, 46,0,
    # face 12
    71,0, 89,0, 97,3, 73,0, 91,3, 103,3, 72,3, 88,3, 105,3,
    51,0, 69,3, 84,3, 54,0, 71,0, 89,0, 55,3, 73,0, 91,3,
    38,0, 47,3, 64,3, 34,3, 51,0, 69,3, 36,3, 54,0, 71,0,
    # face 13
    96,0, 104,0, 107,3, 98,0, 110,3, 115,3, 97,3, 111,3, 119,3,
    76,0, 86,3, 94,3, 82,0, 96,0, 104,0, 84,3, 98,0, 110,3,
    58,0, 65,3, 75,3, 62,3, 76,0, 86,3, 64,3, 82,0, 96,0,
    # face 14
    85,0, 87,0, 83,3, 101,0, 102,3, 100,3, 107,3, 112,3, 114,3,
    66,0, 67,3, 70,3, 81,0, 85,0, 87,0, 94,3, 101,0, 102,3,
    49,0, 48,3, 50,3, 61,3, 66,0, 67,3, 75,3, 81,0, 85,0,
    # face 15
    95,0, 92,0, 83,0, 79,0, 78,0, 74,3, 63,1, 59,3, 57,3,
    109,0, 108,0, 100,5, 93,1, 95,0, 92,0, 77,1, 79,0, 78,0,
    117,4, 118,5, 114,5, 106,1, 109,0, 108,0, 90,1, 93,1, 95,0,
    # face 16
    90,0, 77,0, 63,0, 80,0, 68,0, 56,3, 72,1, 60,3, 46,3,
    106,0, 93,0, 79,5, 99,1, 90,0, 77,0, 88,1, 80,0, 68,0,
    117,3, 109,5, 95,5, 113,1, 106,0, 93,0, 105,1, 99,1, 90,0,
    # face 17
    105,0, 88,0, 72,0, 103,0, 91,0, 73,3, 97,1, 89,3, 71,3,
    113,0, 99,0, 80,5, 116,1, 105,0, 88,0, 111,1, 103,0, 91,0,
    117,2, 106,5, 90,5, 121,1, 113,0, 99,0, 119,1, 116,1, 105,0,
    # face 18
    119,0, 111,0, 97,0, 115,0, 110,0, 98,3, 107,1, 104,3, 96,3,
    121,0, 116,0, 103,5, 120,1, 119,0, 111,0, 112,1, 115,0, 110,0,
    117,1, 113,5, 105,5, 118,1, 121,0, 116,0, 114,1, 120,1, 119,0,
    # face 19
    114,0, 112,0, 107,0, 100,0, 102,0, 101,3, 83,1, 87,3, 85,3,
    118,0, 120,0, 115,5, 108,1, 114,0, 112,0, 92,1, 100,0, 102,0,
    117,0, 121,5, 119,5, 109,1, 118,0, 120,0, 95,1, 108,1, 114,0,
)
_PENTAGON_BASE_CELLS = (4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117)
_PENTAGON_CW_OFFSET_FACES = {
    4: (-1, -1), 14: (2, 6), 24: (1, 5), 38: (3, 7), 49: (0, 9), 58: (4, 8),
    63: (11, 15), 72: (12, 16), 83: (10, 19), 97: (13, 17), 107: (14, 18), 117: (-1, -1),
}
_FACE_CENTER_XYZ = (
    (0.2199307791404606, 0.6583691780274996, 0.7198475378926182),  # face 0
    (-0.2139234834501421, 0.1478171829550703, 0.9656017935214205),  # face 1
    (0.1092625278784797, -0.4811951572873210, 0.8697775121287253),  # face 2
    (0.7428567301586791, -0.3593941678278028, 0.5648005936517033),  # face 3
    (0.8112534709140969, 0.3448953237639384, 0.4721387736413930),  # face 4
    (-0.1055498149613921, 0.9794457296411413, 0.1718874610009365),  # face 5
    (-0.8075407579970092, 0.1533552485898818, 0.5695261994882688),  # face 6
    (-0.2846148069787907, -0.8644080972654206, 0.4144792552473539),  # face 7
    (0.7405621473854482, -0.6673299564565524, -0.0789837646326737),  # face 8
    (0.8512303986474293, 0.4722343788582681, -0.2289137388687808),  # face 9
    (-0.7405621473854481, 0.6673299564565524, 0.0789837646326737),  # face 10
    (-0.8512303986474292, -0.4722343788582682, 0.2289137388687808),  # face 11
    (0.1055498149613919, -0.9794457296411413, -0.1718874610009365),  # face 12
    (0.8075407579970092, -0.1533552485898819, -0.5695261994882688),  # face 13
    (0.2846148069787908, 0.8644080972654204, -0.4144792552473539),  # face 14
    (-0.7428567301586791, 0.3593941678278027, -0.5648005936517033),  # face 15
    (-0.8112534709140971, -0.3448953237639382, -0.4721387736413930),  # face 16
    (-0.2199307791404607, -0.6583691780274996, -0.7198475378926182),  # face 17
    (0.2139234834501420, -0.1478171829550704, -0.9656017935214205),  # face 18
    (-0.1092625278784796, 0.4811951572873210, -0.8697775121287253),  # face 19
)
_FACE_I_AXIS_AZIMUTH = (
    5.619958268523939882,  # face 0
    5.760339081714187279,  # face 1
    0.780213654393430055,  # face 2
    0.430469363979999913,  # face 3
    6.130269123335111400,  # face 4
    2.692877706530642877,  # face 5
    2.982963003477243874,  # face 6
    3.532912002790141181,  # face 7
    3.494305004259568154,  # face 8
    3.003214169499538391,  # face 9
    5.930472956509811562,  # face 10
    0.138378484090254847,  # face 11
    0.448714947059150361,  # face 12
    0.158629650112549365,  # face 13
    5.891865957979238535,  # face 14
    2.711123289609793325,  # face 15
    3.294508837434268316,  # face 16
    3.804819692245439833,  # face 17
    3.664438879055192436,  # face 18
    2.361378999196363184,  # face 19
)


# --- arrays the kernels use -------------------------------------------------

FACE_CENTER = np.array(_FACE_CENTER_XYZ, dtype=np.float64)
FACE_I_AXIS_AZ = np.array(_FACE_I_AXIS_AZIMUTH, dtype=np.float64)

_bc = np.array(_FACE_IJK_BASE_CELLS, dtype=np.int64).reshape(20, 27, 2)
#: base cell at face f and res-0 ijk (i, j, k), indexed [f, 9*i + 3*j + k]
FACE_IJK_BASE_CELL = np.ascontiguousarray(_bc[:, :, 0])
#: ccw 60-degree rotations into that base cell's orientation, same indexing
FACE_IJK_BASE_ROT = np.ascontiguousarray(_bc[:, :, 1])

#: 1 for the 12 pentagon base cells
BASE_CELL_IS_PENTAGON = np.zeros(NUM_BASE_CELLS, dtype=np.int64)
BASE_CELL_IS_PENTAGON[list(_PENTAGON_BASE_CELLS)] = 1
#: the two faces on which a pentagon base cell's orientation is offset
#: clockwise (-1 = none; also -1 for every hexagon base cell)
BASE_CELL_CW_FACES = np.full((NUM_BASE_CELLS, 2), -1, dtype=np.int64)
for _cell, _faces in _PENTAGON_CW_OFFSET_FACES.items():
    BASE_CELL_CW_FACES[_cell] = _faces
del _bc, _cell, _faces


def _face_tangent_frames():
    """Local north and east unit vectors at each face centre.

    Same float operations, in the same order, as H3's ``_vec3TangentBasis``
    (north = pole minus its projection on the centre, normalised by multiplying
    with the reciprocal norm; east = north x centre), so the bits match.
    """
    north = np.empty((20, 3))
    east = np.empty((20, 3))
    for f, (cx, cy, cz) in enumerate(_FACE_CENTER_XYZ):
        b = -((0.0 * cx + 0.0 * cy) + 1.0 * cz)
        nx = 1.0 * 0.0 + b * cx
        ny = 1.0 * 0.0 + b * cy
        nz = 1.0 * 1.0 + b * cz
        norm = math.sqrt(nx * nx + ny * ny + nz * nz)
        s = 1.0 / norm if norm > 0.0 else 0.0
        nx, ny, nz = nx * s, ny * s, nz * s
        north[f] = (nx, ny, nz)
        east[f] = (ny * cz - nz * cy, nz * cx - nx * cz, nx * cy - ny * cx)
    return north, east


FACE_NORTH, FACE_EAST = _face_tangent_frames()


def _fast_axes():
    """Per face and resolution class, the 3D directions of the hex2d x and y axes.

    H3 puts a point at angle theta = A - azimuth on the face plane, where A is
    the face's i-axis azimuth (less the aperture-7 angle on Class III). With
    cos/sin(azimuth) = components along north/east, x = cos(theta) and
    y = sin(theta) are components along ``cos A * north + sin A * east`` and
    ``sin A * north - cos A * east``. Index [face, res % 2] -> (ux, uy, uz, vx,
    vy, vz). Only used by the fast path, which tolerates rounding.
    """
    axes = np.empty((20, 2, 6))
    for f in range(20):
        for cls in (0, 1):
            a = FACE_I_AXIS_AZ[f] - (M_AP7_ROT_RADS if cls else 0.0)
            ca, sa = math.cos(a), math.sin(a)
            axes[f, cls, :3] = ca * FACE_NORTH[f] + sa * FACE_EAST[f]
            axes[f, cls, 3:] = sa * FACE_NORTH[f] - ca * FACE_EAST[f]
    return axes


FACE_FAST_AXES = _fast_axes()

#: hex2d units per gnomonic unit at each resolution (1/res-0 unit * sqrt7^res)
RES_SCALE = np.array(
    [INV_RES0_U_GNOMONIC * math.sqrt(7.0) ** r for r in range(16)], dtype=np.float64
)


def _face_candidates(step_deg=2.0, margin=1e-6):
    """Which faces can be nearest to a point, per cell of a lat/lng grid.

    The kernel finds a point's face by H3's rule (smallest squared distance to
    a face centre, lowest face number on ties) but only among the faces listed
    for the point's grid cell. A face is listed unless, for every point of the
    cell, it is further than the nearest face by more than ``margin`` radians
    (triangle inequality with the cell's radius about its centre), so the
    listed faces always include H3's choice. Row [lat bin, lng bin] holds the
    candidates in increasing order, padded with -1. Latitude bins start at
    -90, longitude bins at 0 (longitudes taken modulo 360).
    """
    nlat, nlng = int(round(180 / step_deg)), int(round(360 / step_deg))
    lat0 = np.radians(-90.0 + step_deg * np.arange(nlat + 1))
    lng0 = np.radians(step_deg * np.arange(nlng + 1))

    def unit(la, ln):
        return np.stack([np.cos(la) * np.cos(ln), np.cos(la) * np.sin(ln), np.sin(la)], -1)

    lat_mid = (lat0[:-1] + lat0[1:]) / 2
    lng_mid = (lng0[:-1] + lng0[1:]) / 2
    la, ln = np.meshgrid(lat_mid, lng_mid, indexing="ij")
    centre = unit(la, ln)
    radius = np.zeros(la.shape)
    for dla in (-0.5, 0.0, 0.5):  # corners and edge midpoints
        for dln in (-0.5, 0.0, 0.5):
            pt = unit(la + dla * np.radians(step_deg), ln + dln * np.radians(step_deg))
            radius = np.maximum(radius, np.arccos(np.clip((pt * centre).sum(-1), -1, 1)))
    radius = radius * 1.05 + margin
    ang = np.arccos(np.clip(centre @ FACE_CENTER.T, -1, 1))
    keep = ang <= ang.min(-1, keepdims=True) + 2 * radius[..., None] + margin
    width = int(keep.sum(-1).max())
    listed = np.sort(np.where(keep, np.arange(20), 99), axis=-1)[..., :width]
    return np.where(listed == 99, -1, listed).astype(np.int8)


#: candidate faces per 2-degree lat/lng cell; see :func:`_face_candidates`
FACE_GRID_STEP_DEG = 2.0
FACE_GRID = _face_candidates(FACE_GRID_STEP_DEG)
