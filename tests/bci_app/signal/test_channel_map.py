"""Tests of the channel map (bci_app.signal.channel_map) and label normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.signal.channel_map import ChannelMappingError, build_channel_map
from models.eeg.labels import normalize_label
from models.eeg.montage import electrode_positions
from models.eeg.seed_layout import SEED_CHANNELS
from tests.helpers import SHARED_DATA, shared_data

EDF = SHARED_DATA / "eegmmidb_S001" / "S001R03.edf"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Fc5.", "FC5"),
        ("C3..", "C3"),
        ("T10.", "T10"),
        ("Fp1", "FP1"),
        (" fpz ", "FPZ"),
        ("EEG Fp1-REF", "FP1"),
        ("EEG:Cz", "CZ"),
        ("O2-A1", "O2"),
        ("Fp1-F7", "FP1F7"),
        ("T3", "T7"),
        ("t4", "T8"),
        ("T5.", "P7"),
        ("EEG T6-REF", "P8"),
        ("EOG", "EOG"),
        ("TRIGGER", "TRIGGER"),
    ],
)
def test_normalize_label(raw: str, norm: str) -> None:
    assert normalize_label(raw) == norm


def test_seed_onto_itself_is_identity() -> None:
    cm = build_channel_map(SEED_CHANNELS, SEED_CHANNELS)
    assert cm.matched == list(SEED_CHANNELS)
    assert cm.interpolated == [] and cm.ignored == []
    np.testing.assert_array_equal(cm.matrix, np.eye(62))
    x = np.random.default_rng(0).standard_normal((10, 62)).astype(np.float32)
    y = cm.apply(x)
    np.testing.assert_array_equal(y, x)
    assert y.dtype == np.float32
    assert cm.summary() == "62 model channels: 62 matched, none interpolated"


def test_real_edf_labels() -> None:
    shared_data("eegmmidb_S001", "S001R03.edf")  # skips when ../shared is absent
    import mne

    raw = mne.io.read_raw_edf(EDF, preload=False, verbose="error")
    assert len(raw.ch_names) == 64 and raw.info["sfreq"] == 160.0
    cm = build_channel_map(raw.ch_names, SEED_CHANNELS)
    assert cm.interpolated == ["PO5", "PO6", "CB1", "CB2"]
    assert len(cm.matched) == 58
    assert sorted(cm.ignored) == sorted(["Af7.", "Afz.", "Af8.", "T9..", "T10.", "Iz.."])
    summary = cm.summary()
    assert "58 matched, 4 interpolated (PO5, PO6, CB1, CB2)" in summary
    assert "6 stream channels ignored" in summary
    np.testing.assert_allclose(cm.matrix.sum(axis=1), 1.0, atol=1e-9)
    # Real data: the interpolated PO5 follows its neighbours.
    data = raw.get_data(start=0, stop=1600).T * 1e6  # (n, 64) uV
    out = cm.apply(data)
    assert out.shape == (1600, 62)
    po5 = out[:, SEED_CHANNELS.index("PO5")]
    po3 = data[:, raw.ch_names.index("Po3.")]
    assert np.corrcoef(po5, po3)[0, 1] > 0.7
    fc5 = out[:, SEED_CHANNELS.index("FC5")]
    np.testing.assert_array_equal(fc5, data[:, raw.ch_names.index("Fc5.")])


def test_old_aliases() -> None:
    stream = ["T3" if c == "T7" else "T4" if c == "T8" else c for c in SEED_CHANNELS]
    stream = ["T5" if c == "P7" else "T6" if c == "P8" else c for c in stream]
    cm = build_channel_map(stream, SEED_CHANNELS)
    assert cm.interpolated == [] and cm.ignored == []
    x = np.arange(62.0)[None, :]
    np.testing.assert_array_equal(cm.apply(x), x)


def test_shuffled_with_extra_channels() -> None:
    rng = np.random.default_rng(2)
    labels = [c.capitalize() + "." for c in SEED_CHANNELS] + ["EOG", "TRIGGER", "AUX1", "HEOG"]
    order = rng.permutation(len(labels))
    stream = [labels[i] for i in order]
    cm = build_channel_map(stream, SEED_CHANNELS)
    assert cm.interpolated == []
    assert sorted(cm.ignored) == sorted(["EOG", "TRIGGER", "AUX1", "HEOG"])
    truth = rng.standard_normal((5, len(labels)))  # columns in `labels` order
    np.testing.assert_array_equal(cm.apply(truth[:, order]), truth[:, :62])
    assert "4 stream channels ignored" in cm.summary()


def test_too_many_missing() -> None:
    stream = [*SEED_CHANNELS[:40], "EOG"]
    with pytest.raises(ChannelMappingError) as info:
        build_channel_map(stream, SEED_CHANNELS)
    msg = str(info.value)
    assert "22 of 62" in msg and "'CB2'" in msg and "'PO7'" in msg and "'EOG'" in msg
    assert isinstance(info.value, ValueError)
    # 15 missing is within 25 % of 62 (15.5); 16 is not.
    assert len(build_channel_map(SEED_CHANNELS[:47], SEED_CHANNELS).interpolated) == 15
    with pytest.raises(ChannelMappingError):
        build_channel_map(SEED_CHANNELS[:46], SEED_CHANNELS)
    with pytest.raises(ChannelMappingError):
        build_channel_map(SEED_CHANNELS[1:], SEED_CHANNELS, max_missing_fraction=0.0)


def test_duplicates_after_normalisation() -> None:
    stream = [*SEED_CHANNELS, "T3"]  # T3 is T7 again
    with pytest.raises(ChannelMappingError, match=r"T7 <- \['T7', 'T3'\]"):
        build_channel_map(stream, SEED_CHANNELS)
    # Duplicates among ignored channels are harmless.
    cm = build_channel_map([*SEED_CHANNELS, "AUX", "aux."], SEED_CHANNELS)
    assert cm.ignored == ["AUX", "aux."]


def test_missing_channel_without_position() -> None:
    model = [*SEED_CHANNELS[:10], "XYZ1"]
    with pytest.raises(ChannelMappingError, match=r"no electrode position.*XYZ1"):
        build_channel_map(SEED_CHANNELS[:10], model, max_missing_fraction=0.5)


# CB1/CB2 sit below the cap, so their values are extrapolated: a looser tolerance.
@pytest.mark.parametrize(
    ("dropped", "tol"),
    [(["C3"], 0.01), (["FCZ", "PZ"], 0.01), (["FT7", "FT8"], 0.01),
     (["PO5", "PO6", "CB1", "CB2"], 0.06), (["FP1"], 0.02)],
)  # fmt: skip
def test_interpolation_of_linear_field(dropped: list[str], tol: float) -> None:
    pos = electrode_positions(SEED_CHANNELS)
    assert len(pos) == 62  # CB1 / CB2 have positions of their own
    xyz = np.array([pos[c] for c in SEED_CHANNELS]) * 1000  # mm
    stream = [c for c in SEED_CHANNELS if c not in dropped]
    cm = build_channel_map(stream, SEED_CHANNELS)
    assert cm.interpolated == dropped
    rows = [SEED_CHANNELS.index(c) for c in dropped]
    cols = [SEED_CHANNELS.index(c) for c in stream]
    for direction in np.eye(3):
        field = xyz @ direction + 7.0  # uV, a linear function of position
        est = cm.apply(field[cols][None, :])[0]
        err = np.abs(est[rows] - field[rows])
        assert np.all(err < tol * np.ptp(field)), (dropped, direction, err)
        np.testing.assert_array_equal(np.delete(est, rows), np.delete(field, rows))
