"""Electrode positions, head spheres and region outlines for the SEED cap and any 10-05 name.

Positions come from MNE's 10-05 template (``standard_1005``, renamed ``colin27_1005`` in
MNE 1.13), matched by :func:`models.eeg.labels.normalize_label` (``Fp1`` -> ``FP1``). The
cerebellar electrodes CB1 and CB2 of the NeuroScan 62-channel cap are not in that template:
they are placed one 10-05 step below O1 / O2 (the inferior row, I1 / I2) and 1 cm more lateral,
i.e. O1 / O2 moved down over the cerebellar hemispheres. The live channel map (interpolation),
the app's head map and the trainer's topomaps all take their positions from here.

All positions are in MNE's head coordinate frame, in metres. MNE is imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from models.eeg.labels import normalize_label
from models.eeg.regions import FRONTAL, TEMPORAL
from models.eeg.seed_layout import SEED_CHANNELS

if TYPE_CHECKING:
    import mne

__all__ = [
    "CEREBELLAR",
    "cerebellar_position",
    "channel_positions",
    "electrode_positions",
    "fit_sphere",
    "head_centre",
    "padded_hull",
    "region_outline_groups",
    "seed_montage",
    "template_name",
    "template_positions",
    "topomap_info",
]

CEREBELLAR: dict[str, tuple[str, str, float]] = {
    "CB1": ("O1", "I1", -0.01),
    "CB2": ("O2", "I2", +0.01),
}
"""Cerebellar channel -> (occipital electrode above it, template electrode one step below,
lateral shift in metres along x, negative = left)."""


@lru_cache(maxsize=1)
def template_name() -> str:
    """Name of MNE's 10-05 template (``colin27_1005`` from MNE 1.13, else ``standard_1005``)."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    return "colin27_1005" if "colin27_1005" in builtin else "standard_1005"


def cerebellar_position(ch_pos: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Position (3,) in the template's frame, metres, for CB1 or CB2 (below O1 / O2).

    Args:
        ch_pos: normalised template name -> position (3,), metres (needs O1/O2, I1/I2).
        name: ``"CB1"`` or ``"CB2"``.
    """
    above, below, lateral = CEREBELLAR[name]
    pos = ch_pos[below].copy()  # the inferior row's height and depth ...
    pos[0] = ch_pos[above][0] + lateral  # ... shifted over the cerebellar hemisphere
    return pos


@lru_cache(maxsize=1)
def _raw_template() -> tuple[dict[str, np.ndarray], dict]:
    """(normalised name -> position in the template's own frame incl. CB1/CB2, keyword
    arguments of ``make_dig_montage`` for the fiducials and the frame)."""
    import mne

    positions = mne.channels.make_standard_montage(template_name()).get_positions()
    pos: dict[str, np.ndarray] = {}
    for name, xyz in positions["ch_pos"].items():
        key = normalize_label(name)
        if key not in pos and np.all(np.isfinite(xyz)):
            pos[key] = np.asarray(xyz, dtype=np.float64)
    for cb in CEREBELLAR:
        pos.setdefault(cb, cerebellar_position(pos, cb))
    frame = {k: np.asarray(positions[k], float) for k in ("nasion", "lpa", "rpa")}
    return pos, frame | {"coord_frame": positions["coord_frame"]}


def template_positions() -> dict[str, np.ndarray]:
    """Normalised name -> position (3,) in metres of every template electrode plus CB1/CB2.

    The template's own frame (the frame of the live channel map's spherical splines).
    Returns the cached dictionary: do not modify it.
    """
    return _raw_template()[0]


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through ``points`` (n, 3), n >= 4: (centre (3,), radius), metres."""
    p = np.asarray(points, dtype=np.float64)
    a = np.c_[2 * p, np.ones(len(p))]
    sol = np.linalg.lstsq(a, (p**2).sum(axis=1), rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


@lru_cache(maxsize=1)
def head_centre() -> np.ndarray:
    """Centre (3,) of the sphere fitted to all template positions, metres (template frame)."""
    return fit_sphere(np.array(list(template_positions().values())))[0]


def electrode_positions(names: Sequence[str]) -> dict[str, np.ndarray]:
    """Template positions (metres, template frame) of the given names that have one.

    Keys are the normalised names; names without a known position are left out.
    """
    table = template_positions()
    return {key: table[key].copy() for key in map(normalize_label, names) if key in table}


@lru_cache(maxsize=1)
def _seed_montage() -> mne.channels.DigMontage:
    """The 62-channel SEED montage in head coordinates (cached, do not mutate)."""
    import mne

    table, frame = _raw_template()
    ch_pos = {name: table[name] for name in SEED_CHANNELS}
    montage = mne.channels.make_dig_montage(ch_pos=ch_pos, **frame)
    # head coordinates: origin between the ears, x to RPA, y to nasion
    montage.apply_trans(mne.channels.compute_native_head_t(montage))
    return montage


def seed_montage() -> mne.channels.DigMontage:
    """Montage of the 62 SEED channels (upper-case names, file order) in head coordinates.

    Returns:
        A new ``DigMontage`` (safe to modify) with nasion, LPA and RPA; positions in metres.
        Use it with ``mne.create_info(list(SEED_CHANNELS), 200.0, "eeg").set_montage(...)``.
    """
    return _seed_montage().copy()


def channel_positions(names: Sequence[str] | None = None) -> np.ndarray:
    """Head-frame positions of SEED channels ``names`` (default: all 62 in file order).

    Args:
        names: channel names, matched with :func:`normalize_label` against the SEED channels.

    Returns:
        float64 array (n, 3): x (left -> right), y (back -> nose), z (down -> up), in metres,
        MNE head coordinates.

    Raises:
        ValueError: a name is not a SEED channel (the offending names are listed).
    """
    names = list(SEED_CHANNELS) if names is None else list(names)
    ch_pos = _seed_montage().get_positions()["ch_pos"]
    keys = [normalize_label(n) for n in names]
    unknown = [n for n, k in zip(names, keys, strict=True) if k not in ch_pos]
    if unknown:
        raise ValueError(f"not SEED channels: {unknown}; expected names among {SEED_CHANNELS}")
    return np.array([ch_pos[k] for k in keys], dtype=np.float64).reshape(len(names), 3)


def _level_transform(montage: mne.channels.DigMontage) -> mne.transforms.Transform:
    """Rotation about the left-right (x) axis that brings FPZ and OZ to the same height."""
    import mne

    ch_pos = montage.get_positions()["ch_pos"]
    dy, dz = (ch_pos["FPZ"] - ch_pos["OZ"])[1:]
    angle = np.arctan2(-dz, dy)
    rot = np.eye(4)
    rot[1:3, 1:3] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    return mne.transforms.Transform("head", "head", rot)


def topomap_info(
    names: Sequence[str] | None = None, sfreq: float = 200.0
) -> tuple[mne.Info, tuple[float, float, float, float]]:
    """An ``Info`` and head sphere for ``mne.viz.plot_topomap`` of SEED channels.

    The template head is tilted in head coordinates (OZ 3 cm higher than FPZ), which pushes
    the frontal row outside the drawn head circle. Here the montage is pitched about the x axis
    so that FPZ and OZ are level, and the sphere follows EEGLAB's convention (MNE's
    ``sphere="eeglab"`` cannot find SEED's upper-case names): centre = mean of FPZ, T7, OZ, T8,
    radius = their mean distance from it, so the 10-20 ring lies on the head circle and CB1 /
    CB2 fall just outside it.

    Args:
        names: channels to include (SEED names, any spelling); default all 62 in file order.
        sfreq: sampling rate stored in the info, Hz.

    Returns:
        (info with the levelled montage set, channels named in normalised form; sphere
        (x, y, z, radius) in metres).

    Raises:
        ValueError: a name is not a SEED channel.
    """
    import mne

    names = list(SEED_CHANNELS) if names is None else [normalize_label(n) for n in names]
    channel_positions(names)  # validates the names
    montage = seed_montage()
    montage.apply_trans(_level_transform(montage))
    info = mne.create_info(names, sfreq, "eeg")
    info.set_montage(montage, on_missing="ignore")
    ch_pos = montage.get_positions()["ch_pos"]
    ring = np.array([ch_pos[n] for n in ("FPZ", "T7", "OZ", "T8")])
    centre = ring.mean(axis=0)
    radius = float(np.linalg.norm(ring - centre, axis=1).mean())
    return info, (float(centre[0]), float(centre[1]), float(centre[2]), radius)


def padded_hull(points: np.ndarray, pad: float) -> np.ndarray:
    """Closed outline (m, 2) around 2-D ``points``, ``pad`` away from them (rounded corners).

    The first vertex is repeated at the end. Works for one point and for collinear points.
    """
    from scipy.spatial import ConvexHull

    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    ring = pad * np.column_stack([np.cos(angles), np.sin(angles)])
    cloud = (np.asarray(points, float)[:, None, :] + ring[None, :, :]).reshape(-1, 2)
    hull = cloud[ConvexHull(cloud).vertices]
    return np.vstack((hull, hull[:1]))


def region_outline_groups(
    names: Sequence[str], xy: np.ndarray, min_points: int = 1
) -> list[tuple[str, np.ndarray]]:
    """The electrode groups outlined on head maps: frontal, left temporal, right temporal.

    Args:
        names: channel names (any spelling), one per row of ``xy``.
        xy: (n, 2) 2-D positions, x < 0 on the left; rows with NaN are left out.
        min_points: groups with fewer points are dropped.

    Returns:
        (region name, (m, 2) points) per group, in that order.
    """
    keys = [normalize_label(n) for n in names]
    ok = np.isfinite(np.asarray(xy, float)).all(axis=1)
    frontal = [i for i, k in enumerate(keys) if k in FRONTAL and ok[i]]
    temporal = [i for i, k in enumerate(keys) if k in TEMPORAL and ok[i]]
    groups = [("frontal", frontal),
              ("temporal", [i for i in temporal if xy[i, 0] < 0]),
              ("temporal", [i for i in temporal if xy[i, 0] >= 0])]
    return [(region, np.asarray(xy)[idx]) for region, idx in groups if len(idx) >= min_points]
