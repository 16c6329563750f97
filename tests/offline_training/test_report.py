"""Tests for the training report (summary, report.json/md), its figures and the SEED montage."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from models.eeg.montage import channel_positions, seed_montage
from models.eeg.regions import FRONTAL, TEMPORAL
from offline_training.figures import FIGURE_FILES, make_figures
from offline_training.report import summarise_folds, write_report
from offline_training.seed import CLASS_NAMES, SEED_CHANNELS

NAN = float("nan")


def _fold(name: str, subject: int, session: int, acc: float, f1: float,
          confusion: list[list[int]], history: dict[str, list[float]]) -> dict[str, Any]:
    return {"name": name, "subject": subject, "session": session, "accuracy": acc,
            "macro_f1": f1, "confusion": confusion, "n_train": 600, "encoder": [32, 64],
            "n_test": int(np.sum(confusion)), "seconds": 1.5,
            "history": {"epoch": [1, 2, 3, 4], **history}}


def _fake_report(synthetic: bool = True) -> dict[str, Any]:
    """3 folds over 2 subjects; fold 2's history holds NaNs, fold 3 uses 0 for 'no CE yet'."""
    folds = [
        _fold("sub01_ses1", 1, 1, 0.90, 0.88, [[30, 2, 1], [3, 25, 2], [1, 1, 35]],
              {"loss": [3.0, 2.5, 2.0, 1.8], "loss_contrastive": [2.0, 1.8, 1.5, 1.4],
               "loss_ce": [1.0, 0.7, 0.5, 0.4], "train_accuracy": [0.5, 0.7, 0.8, 0.9]}),
        _fold("sub01_ses2", 1, 2, 0.80, 0.78, [[25, 5, 3], [4, 22, 4], [2, 3, 32]],
              {"loss": [3.1, NAN, 2.1, 1.9], "loss_contrastive": [2.1, NAN, 1.6, NAN],
               "loss_ce": [1.0, 0.8, NAN, 0.5], "train_accuracy": [0.4, NAN, 0.8, 0.85]}),
        _fold("sub02_ses1", 2, 1, 0.60, 0.55, [[20, 10, 3], [8, 18, 4], [5, 6, 26]],
              {"loss": [2.9, 2.6, 2.2, 1.7], "loss_contrastive": [2.9, 2.6, 1.7, 1.3],
               "loss_ce": [0.0, 0.0, 0.5, 0.4], "train_accuracy": [0.3, 0.6, 0.7, 0.75]}),
    ]
    drops = np.random.default_rng(0).uniform(-0.01, 0.02, len(SEED_CHANNELS))
    for name in FRONTAL + TEMPORAL:  # the pattern SI-CLEER reports: frontal/temporal matter
        drops[SEED_CHANNELS.index(name)] += 0.03
    drops[SEED_CHANNELS.index("T7")] = 0.08
    return {
        "config": {"protocol": "subject-dependent", "epochs": 4, "batch_size": 32, "lr": 1e-3,
                   "window_seconds": 4.0, "stride_seconds": 2.0, "loss": "joint",
                   "lambda_ce": 1.0, "mask": True, "device": "cpu", "seed": 0},
        "data": {"root": "/tmp/SEED", "synthetic": synthetic, "n_sessions": 3,
                 "channels": list(SEED_CHANNELS), "sfreq": 200.0},
        "class_names": list(CLASS_NAMES),
        "folds": folds,
        "summary": summarise_folds(folds),
        "channel_importance": {"channels": list(SEED_CHANNELS), "accuracy_drop": drops.tolist()},
        "runtime": {"seconds": 12.5, "windows_per_second": 850.0, "device": "cpu",
                    "peak_rss_mb": 900.0, "peak_cuda_mb": None},
        "export": {"path": "/tmp/out/model.safetensors"},
    }


# --------------------------------------------------------------------- summary


def test_summarise_folds_by_hand() -> None:
    summary = summarise_folds(_fake_report()["folds"])
    assert summary["n_folds"] == 3
    assert summary["accuracy_mean"] == pytest.approx(0.7666666667)
    # population std of (0.9, 0.8, 0.6): sqrt(((0.1333)^2 + (0.0333)^2 + (0.1667)^2) / 3)
    assert summary["accuracy_std"] == pytest.approx(math.sqrt(0.14 / 9))
    assert summary["macro_f1_mean"] == pytest.approx((0.88 + 0.78 + 0.55) / 3)
    assert summary["macro_f1_std"] == pytest.approx(np.std([0.88, 0.78, 0.55]))
    assert list(summary["per_subject"]) == ["1", "2"]
    assert summary["per_subject"]["1"] == {"accuracy_mean": pytest.approx(0.85),
                                           "accuracy_std": pytest.approx(0.05), "n_folds": 2}
    assert summary["per_subject"]["2"]["accuracy_std"] == 0.0
    assert summary["confusion"] == [[75, 17, 7], [15, 65, 10], [8, 10, 93]]


def test_summarise_folds_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        summarise_folds([])
    folds = _fake_report()["folds"]
    folds[0]["confusion"] = [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="shape"):
        summarise_folds(folds)


# --------------------------------------------------------------------- report files


def test_write_report_files(tmp_path: Path) -> None:
    report = _fake_report(synthetic=True)
    report["folds"][0]["history"]["loss"][0] = np.float32(NAN)  # numpy NaN must not break JSON
    json_path, md_path = write_report(report, tmp_path / "out")
    assert json_path.name == "report.json" and md_path.name == "report.md"
    loaded = json.loads(json_path.read_text())  # strict JSON: NaN written as null
    assert loaded["folds"][0]["history"]["loss"][0] is None
    assert loaded["summary"]["n_folds"] == 3
    assert list(loaded) == sorted(loaded)
    md = md_path.read_text()
    assert "76.67 ± 12.47 %" in md  # mean accuracy as a percentage, std over folds
    assert "Warning: synthetic data" in md and "not comparable" in md
    for method, number in [("SVM on DE", "83.99 ± 9.72"), ("SI-CLEER", "95.45"),
                           ("SST-EmotionNet", "96.02 ± 2.17")]:
        assert f"| {method} | {number} |" in md
    assert "SOGNN" not in md  # other protocols' numbers are not shown
    assert "| sub01_ses2 | 1 | 2 | 80.00 | 78.00 | - | 32/64 | 600 | 100 |" in md  # no step
    assert "| **negative** | 75 | 17 | 7 |" in md
    assert "| 1 | T7 | 8.00 | temporal |" in md
    assert "![fold accuracy](fold_accuracy.png)" in md  # linked even before make_figures


def test_write_report_real_data_other_protocols(tmp_path: Path) -> None:
    report = _fake_report(synthetic=False)
    report["config"]["protocol"] = "loso"
    report["folds"][2]["session"] = None  # leave-one-subject-out folds have no session
    md = write_report(report, tmp_path)[1].read_text()
    assert "Warning" not in md and "leave one subject out" in md
    assert "| sub02_ses1 | 2 | all | 60.00 |" in md
    assert "| SOGNN | 86.81 |" in md and "SVM on DE" not in md
    report["config"]["protocol"] = "cross-session"
    report["channel_importance"] = None
    md = write_report(report, tmp_path)[1].read_text()
    assert "No published numbers for cross-session" in md and "SOGNN" not in md
    assert "(training_curves.png)" in md and "channel_importance.png" not in md


# --------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def figure_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_figures(_fake_report(), tmp_path_factory.mktemp("figs"))


def test_make_figures_writes_four_pngs(figure_paths: list[Path]) -> None:
    assert [p.name for p in figure_paths] == list(FIGURE_FILES.values())
    for path in figure_paths:
        assert path.stat().st_size > 1000
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 300
        assert not np.all(pixels == pixels[0, 0]), f"{path.name} is one colour"


def test_report_links_figures(figure_paths: list[Path]) -> None:
    out_dir = figure_paths[0].parent
    md = write_report(_fake_report(), out_dir)[1].read_text()
    for name in FIGURE_FILES.values():
        assert f"]({name})" in md


def test_make_figures_skips_missing_data(tmp_path: Path) -> None:
    report = _fake_report()
    report["channel_importance"] = None
    names = [p.name for p in make_figures(report, tmp_path / "a")]
    assert names == ["fold_accuracy.png", "confusion.png", "training_curves.png"]
    bare = copy.deepcopy(report)
    for fold in bare["folds"]:
        del fold["history"]
    assert [p.name for p in make_figures(bare, tmp_path / "b")] == [
        "fold_accuracy.png", "confusion.png"]
    assert make_figures({"folds": [], "summary": {}}, tmp_path / "c") == []


# --------------------------------------------------------------------- montage


def test_seed_montage_covers_all_channels() -> None:
    montage = seed_montage()
    assert montage.ch_names == list(SEED_CHANNELS)
    assert montage.get_positions()["coord_frame"] == "head"
    pos = channel_positions()
    assert pos.shape == (62, 3) and np.isfinite(pos).all()
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(62)
    assert dist.min() > 0.005  # distinct positions, at least 5 mm apart
    assert np.all(np.linalg.norm(pos, axis=1) < 0.2)  # metres, on a head
    cb1, o1, cb2, o2 = channel_positions(["CB1", "o1", "cb2", "O2"])
    assert cb1[2] < o1[2] and cb2[2] < o2[2]
    assert cb1[0] < 0 < cb2[0]
    fp1, fp2 = channel_positions(["FP1", "FP2"])
    assert fp1[1] > 0.05 and fp1[0] < 0 < fp2[0]  # front of head, left/right
    assert set(FRONTAL) | set(TEMPORAL) <= set(montage.ch_names)
    with pytest.raises(ValueError, match="XX"):
        channel_positions(["XX"])


def test_report_prints_the_baseline_beside_si_cleer(tmp_path: Path) -> None:
    report = _fake_report()
    for fold, base in zip(report["folds"], (0.7, 0.6, 0.5), strict=True):
        fold["baseline"] = {"name": "csp-lda", "accuracy": base, "macro_f1": base}
        fold["best_step"] = 120
    report["summary"] = summarise_folds(report["folds"])
    assert report["summary"]["baseline"]["accuracy_mean"] == pytest.approx(0.6)
    _, md_path = write_report(report, tmp_path)
    md = md_path.read_text()
    assert "Classical baseline on the same windows (CSP + LDA, 8-30 Hz): 60.00 ± 8.16 %" in md
    assert "| CSP + LDA (%) | step kept | encoder |" in md
    assert "| sub01_ses2 | 1 | 2 | 80.00 | 78.00 | 60.00 | 120 | 32/64 | 600 | 100 |" in md
    del report["folds"][1]["baseline"]  # not every fold has one: no baseline column or mean
    report["summary"] = summarise_folds(report["folds"])
    assert "baseline" not in report["summary"]


# --------------------------------------------------------------------- channel importance


def test_noise_level_of_an_occlusion_drop() -> None:
    from offline_training.importance import importance_noise

    assert importance_noise(0.5, 256) == pytest.approx(2 * math.sqrt(0.25 / 256))  # 6.25 pp
    assert importance_noise(1.0, 256) == pytest.approx(2 / 256)  # floor: not zero
    assert importance_noise(0.5, 1024) < importance_noise(0.5, 256)  # more windows, less noise


def _importance_report(drops: np.ndarray, n_windows: int | None, accuracy: float = 0.5) -> dict:
    report = _fake_report()
    report["channel_importance"] = {"channels": list(SEED_CHANNELS),
                                    "accuracy_drop": drops.tolist()}
    if n_windows is not None:
        report["channel_importance"] |= {"n_windows": n_windows, "accuracy": accuracy}
    return report


def _section(md: str) -> str:
    return md.split("## Channel importance (occlusion)")[1].split("\n## ")[0]


def test_drops_within_noise_are_not_ranked(tmp_path: Path) -> None:
    """All drops 0 (or within two standard errors): the report says so and ranks nothing,
    the figure names nobody, and no claim about frontal or temporal channels is made."""
    from offline_training.figures import plot_channel_importance

    for drops in (np.zeros(62), np.random.default_rng(1).uniform(-0.03, 0.03, 62)):
        report = _importance_report(drops, n_windows=256)
        write_report(report, tmp_path)
        section = _section((tmp_path / "report.md").read_text())
        assert "No channel's occlusion changes the test accuracy beyond noise" in section
        assert "±6.2 pp" in section and "256 test windows" in section
        assert "| rank |" not in section and "frontal or temporal" not in section
        fig = plot_channel_importance(report["channel_importance"])
        ax = fig.axes[0]
        assert "none ranked" in ax.get_title()
        assert not [t for t in ax.texts if t.get_text().split(" ")[0] in SEED_CHANNELS]


def test_the_table_and_the_figure_rank_the_same_channels(tmp_path: Path) -> None:
    from offline_training.figures import plot_channel_importance

    drops = np.zeros(62)
    for name, drop in (("T7", 0.20), ("FP1", 0.12), ("F8", 0.09), ("O1", 0.08), ("CZ", 0.03)):
        drops[SEED_CHANNELS.index(name)] = drop  # CZ: within the 6.25 pp noise
    report = _importance_report(drops, n_windows=256)
    write_report(report, tmp_path)
    section = _section((tmp_path / "report.md").read_text())
    rows = [ln.split("|")[2].strip() for ln in section.splitlines()
            if ln.startswith("|") and ln.split("|")[1].strip().isdigit()]
    assert rows == ["T7", "FP1", "F8", "O1"]  # CZ is noise
    assert "3 of these 4 channels are frontal or temporal" in section
    fig = plot_channel_importance(report["channel_importance"])
    named = [t.get_text().split(" ")[0] for t in fig.axes[0].texts
             if t.get_text().split(" ")[0] in SEED_CHANNELS]
    assert named == ["T7", "FP1", "F8"]  # the table's top 3, in its order


def test_counts_take_their_plural(tmp_path: Path) -> None:
    report = _fake_report()
    report["folds"] = report["folds"][:1]
    report["summary"] = summarise_folds(report["folds"])
    report["data"]["n_sessions"] = 1
    write_report(report, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "1 session," in md and "1 sessions" not in md
    assert "over 1 fold)" in md and "1 folds" not in md
