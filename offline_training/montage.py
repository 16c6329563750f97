"""Electrode positions for the 62 SEED channels (for topographic plots).

Positions come from MNE's 10-05 template (``standard_1005``, renamed ``colin27_1005`` in
MNE 1.13), matched to SEED's upper-case names case-insensitively (``FP1`` -> ``Fp1``).
The cerebellar electrodes CB1 and CB2 of the Neuroscan 62-channel cap are not in that template:
they are placed one 10-05 step below O1 / O2 (the inferior row, I1 / I2) and 1 cm more lateral,
i.e. O1 / O2 moved down over the cerebellar hemispheres.

All positions returned here are in MNE's head coordinate frame, in metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import mne
import numpy as np

from offline_training.seed import SEED_CHANNELS

__all__ = ["CEREBELLAR", "cerebellar_position", "channel_positions", "seed_montage", "topomap_info"]

CEREBELLAR: dict[str, tuple[str, str, float]] = {
    "CB1": ("O1", "I1", -0.01),
    "CB2": ("O2", "I2", +0.01),
}
"""Cerebellar channel -> (occipital electrode above it, template electrode one step below,
lateral shift in metres along x, negative = left)."""


def _template_name() -> str:
    """Name of MNE's 10-05 template (``colin27_1005`` from MNE 1.13, else ``standard_1005``)."""
    builtin = mne.channels.get_builtin_montages()
    return "colin27_1005" if "colin27_1005" in builtin else "standard_1005"


def cerebellar_position(ch_pos: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Position (3,) in the template's frame, metres, for CB1 or CB2 (below O1 / O2).

    Args:
        ch_pos: upper-case template name -> position (3,), metres (needs O1/O2, I1/I2).
        name: ``"CB1"`` or ``"CB2"``.
    """
    above, below, lateral = CEREBELLAR[name]
    occipital = ch_pos[above]
    inferior = ch_pos[below]
    # Keep the inferior row's height and depth, shift laterally over the cerebellar hemisphere.
    pos = inferior.copy()
    pos[0] = occipital[0] + lateral
    return pos


@lru_cache(maxsize=1)
def _montage_template() -> mne.channels.DigMontage:
    """The 62-channel SEED montage in the template's own frame (cached, do not mutate)."""
    template = mne.channels.make_standard_montage(_template_name())
    positions = template.get_positions()
    by_upper = {name.upper(): np.asarray(pos, float) for name, pos in positions["ch_pos"].items()}
    ch_pos: dict[str, np.ndarray] = {}
    for name in SEED_CHANNELS:
        if name in by_upper:
            ch_pos[name] = by_upper[name]
        elif name in CEREBELLAR:
            ch_pos[name] = cerebellar_position(by_upper, name)
        else:  # pragma: no cover - would mean a template without a 10-05 electrode
            raise ValueError(f"channel {name!r} not found in MNE montage {_template_name()!r}")
    montage = mne.channels.make_dig_montage(
        ch_pos=ch_pos,
        nasion=positions["nasion"],
        lpa=positions["lpa"],
        rpa=positions["rpa"],
        coord_frame=positions["coord_frame"],
    )
    # Express everything in head coordinates (origin between the ears, x to RPA, y to nasion).
    montage.apply_trans(mne.channels.compute_native_head_t(montage))
    return montage


def seed_montage() -> mne.channels.DigMontage:
    """Montage of the 62 SEED channels (upper-case names, file order) in head coordinates.

    Returns:
        A new ``DigMontage`` (safe to modify) with nasion, LPA and RPA; positions in metres.
        Use it with ``mne.create_info(list(SEED_CHANNELS), 200.0, "eeg").set_montage(...)``.
    """
    return _montage_template().copy()


def channel_positions(names: Sequence[str] | None = None) -> np.ndarray:
    """Electrode positions of ``names`` (default: all 62 SEED channels in file order).

    Args:
        names: channel names, matched case-insensitively against the SEED channels.

    Returns:
        float64 array (n, 3): x (left -> right), y (back -> nose), z (down -> up), in metres,
        MNE head coordinates.

    Raises:
        ValueError: a name is not a SEED channel (the offending names are listed).
    """
    names = list(SEED_CHANNELS) if names is None else list(names)
    ch_pos = _montage_template().get_positions()["ch_pos"]
    unknown = [n for n in names if n.upper() not in ch_pos]
    if unknown:
        raise ValueError(f"not SEED channels: {unknown}; expected names among {SEED_CHANNELS}")
    return np.array([ch_pos[n.upper()] for n in names], dtype=np.float64).reshape(len(names), 3)


def _level_transform(montage: mne.channels.DigMontage) -> mne.transforms.Transform:
    """Rotation about the left-right (x) axis that brings FPZ and OZ to the same height."""
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
        names: channels to include (SEED names, any case); default all 62 in file order.
        sfreq: sampling rate stored in the info, Hz.

    Returns:
        (info with the levelled montage set, sphere (x, y, z, radius) in metres).
    """
    names = list(SEED_CHANNELS) if names is None else [n.upper() for n in names]
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
