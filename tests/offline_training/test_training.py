"""Windowing, protocols, the training loop and the sicleer-train command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from models import load_model
from models.device import resolve_precision
from models.preprocessing import FilterSpec
from offline_training.cli import main as train_main
from offline_training.cli import parse_int_list
from offline_training.config import TrainConfig
from offline_training.protocols import TEST_TRIALS, TRAIN_TRIALS, make_folds
from offline_training.seed import SessionFile
from offline_training.signal_chain import SignalChain
from offline_training.train import fit, predict
from offline_training.windows import (
    SessionWindows,
    WindowPool,
    cut_windows,
    fit_normalisation,
    window_starts,
)


def test_window_starts_and_cut() -> None:
    assert window_starts(601, 200, 200).tolist() == [0, 200, 400]
    assert window_starts(199, 200, 100).size == 0
    trial = np.arange(2 * 601, dtype=np.float64).reshape(2, 601)
    w = cut_windows(trial, 200, 100)
    assert w.shape == (5, 2, 200) and w.dtype == np.float32
    np.testing.assert_array_equal(w[3, 1], trial[1, 300:500])


def _sw(subject: int, session: int, n: int, value: float) -> SessionWindows:
    x = np.full((n, 2, 4), value, np.float32) + np.arange(n, dtype=np.float32)[:, None, None]
    return SessionWindows(x, np.arange(n) % 3, np.arange(1, n + 1), subject, session)


def test_pool_take_across_sessions_in_any_order() -> None:
    a, b = _sw(1, 1, 5, 0.0), _sw(2, 1, 4, 100.0)
    pool = WindowPool([(a, np.array([True, False, True, True, False])), (b, np.array([3, 0]))])
    assert len(pool) == 5 and pool.shape == (2, 4)
    got = pool.take(np.array([4, 0, 3, 2]))
    np.testing.assert_array_equal(got[:, 0, 0], [100.0, 0.0, 103.0, 3.0])
    assert pool.y.tolist() == [0, 2, 0, 0, 0]


def test_normaliser_is_fitted_on_training_windows_only() -> None:
    rng = np.random.default_rng(0)
    train = SessionWindows(rng.normal(0, 5, (20, 3, 50)).astype(np.float32),
                           np.zeros(20, int), np.ones(20, int), 1, 1)
    test = SessionWindows(rng.normal(0, 50, (20, 3, 50)).astype(np.float32),
                          np.zeros(20, int), np.full(20, 10), 1, 1)
    norm = fit_normalisation(WindowPool([(train, np.ones(20, bool))]))
    assert np.allclose(norm.std, 5, rtol=0.1)  # the test split's scale (50) played no part
    x = norm.apply(test.x + 1000.0)  # per-window demeaning removes any offset
    np.testing.assert_allclose(x.mean(-1), 0, atol=1e-3)
    plain = fit_normalisation(WindowPool([(train, np.ones(20, bool))]), demean=False)
    assert abs(plain.mean).max() < 1.0


def _sessions() -> list[SessionFile]:
    return [SessionFile(Path(f"{s}_{d}.mat"), s, k + 1, d)
            for s in (1, 2) for k, d in enumerate(("20200101", "20200201", "20200301"))]


def test_protocol_folds() -> None:
    sessions = _sessions()
    sd = make_folds(sessions, "subject-dependent")
    assert len(sd) == 6 and sd[0].name == "sub01_ses1"
    assert sd[0].train == [(sessions[0], TRAIN_TRIALS)] and sd[0].test == [(sessions[0],
                                                                           TEST_TRIALS)]
    assert tuple(range(1, 10)) == TRAIN_TRIALS and tuple(range(10, 16)) == TEST_TRIALS
    loso = make_folds(sessions, "loso")
    assert [f.subject for f in loso] == [1, 2]
    assert {s.subject for s, _ in loso[0].train} == {2}
    assert {s.subject for s, _ in loso[0].test} == {1}
    cross = make_folds(sessions, "cross-session")
    assert len(cross) == 6
    assert all(f.test[0][0] not in [s for s, _ in f.train] for f in cross)
    assert all({s.subject for s, _ in f.train} == {f.subject} for f in cross)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        make_folds(sessions[:3], "loso")
    with pytest.raises(ValueError, match="at least 2 sessions"):
        make_folds(sessions[:1], "cross-session")


def test_parse_int_list() -> None:
    assert parse_int_list("1-3,7, 5") == [1, 2, 3, 5, 7]
    with pytest.raises(Exception, match="not a list"):
        parse_int_list("a-b")


def _toy_pool(n: int = 48, seed: int = 0) -> WindowPool:
    """Three classes told apart by a sinusoid's frequency on channel 0."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    t = np.arange(40) / 40
    x = rng.normal(0, 1, (n, 4, 40)).astype(np.float32)
    x[:, 0] += 3 * np.sin(2 * np.pi * (2 + 5 * y)[:, None] * t).astype(np.float32)
    return WindowPool([(SessionWindows(x, y, np.ones(n, int), 1, 1), np.ones(n, bool))])


def _cfg(tmp_path: Path, **kw: object) -> TrainConfig:
    base = dict(data=tmp_path, out=tmp_path, epochs=3, batch_size=16, hidden_dims=8,
                output_dims=16, head_epochs=2, min_steps=0)
    return TrainConfig(**(base | kw))


@pytest.mark.parametrize("loss", ["joint", "ce", "contrastive"])
def test_fit_loss_modes_record_their_parts(tmp_path: Path, loss: str) -> None:
    pool = _toy_pool()
    cfg = _cfg(tmp_path, loss=loss, balance="none")  # the paper's plain sum: total = parts
    _, hist, seen = fit(pool, fit_normalisation(pool), cfg, torch.device("cpu"), seed=0)
    h = hist.to_dict()
    n_epochs = cfg.epochs + (cfg.head_epochs if loss == "contrastive" else 0)
    assert h["epoch"] == list(range(1, n_epochs + 1))
    assert seen == len(pool) * n_epochs
    if loss == "ce":
        assert all(v is None for v in h["loss_contrastive"]) and None not in h["loss_ce"]
    elif loss == "joint":
        assert None not in h["loss_contrastive"] and None not in h["loss_ce"]
        total = np.array(h["loss"])
        parts = np.array(h["loss_contrastive"]) + cfg.lambda_ce * np.array(h["loss_ce"])
        np.testing.assert_allclose(total, parts, rtol=1e-5)
    else:  # encoder phase: contrastive only; head phase: CE only, encoder frozen
        assert None not in h["loss_contrastive"][: cfg.epochs]
        assert all(v is None for v in h["loss_ce"][: cfg.epochs])
        assert None not in h["loss_ce"][cfg.epochs:]


def test_contrastive_head_phase_leaves_encoder_frozen(tmp_path: Path) -> None:
    pool = _toy_pool()
    cfg = _cfg(tmp_path, loss="contrastive", epochs=1, head_epochs=1)
    torch.manual_seed(0)
    net, _, _ = fit(pool, fit_normalisation(pool), cfg, torch.device("cpu"), seed=0)
    cfg_more = _cfg(tmp_path, loss="contrastive", epochs=1, head_epochs=3)
    net2, _, _ = fit(pool, fit_normalisation(pool), cfg_more, torch.device("cpu"), seed=0)
    for (k, a), (_, b) in zip(net.encoder.state_dict().items(),
                              net2.encoder.state_dict().items(), strict=True):
        assert torch.equal(a, b), k  # more head epochs never touch the encoder
    assert not torch.equal(net.head.fc.weight, net2.head.fc.weight)


def test_fit_is_deterministic_on_cpu_for_a_seed(tmp_path: Path) -> None:
    pool = _toy_pool()
    norm = fit_normalisation(pool)
    cfg = _cfg(tmp_path)
    a, ha, _ = fit(pool, norm, cfg, torch.device("cpu"), seed=3)
    b, hb, _ = fit(pool, norm, cfg, torch.device("cpu"), seed=3)
    c, _, _ = fit(pool, norm, cfg, torch.device("cpu"), seed=4)
    assert ha.loss == hb.loss
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.head.fc.weight, c.head.fc.weight)


def test_fit_learns_a_separable_toy_problem(tmp_path: Path) -> None:
    pool = _toy_pool(96)
    norm = fit_normalisation(pool)
    net, _, _ = fit(pool, norm, _cfg(tmp_path, epochs=15, loss="joint"), torch.device("cpu"), 0)
    test = _toy_pool(60, seed=1)
    acc = (predict(net, test, norm, torch.device("cpu")).argmax(1) == test.y).mean()
    assert acc > 0.8


def test_cli_reports_bad_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = train_main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 3  # a bad input folder (models.exit_codes.ExitCode.BAD_INPUT)
    assert "missing" in capsys.readouterr().err
    code = train_main(["--data", str(tmp_path), "--out", str(tmp_path / "o"), "--epochs", "0"])
    assert code == 2
    assert "epochs" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One subject, two sessions, 30-s trials."""
    from offline_training.synth import generate_seed_folder

    root = tmp_path_factory.mktemp("seed") / "SEED"
    generate_seed_folder(root, subjects=(1, 2), n_sessions=2, trial_seconds=30.0, seed=0)
    return root


FAST = ["--hidden-dims", "16", "--output-dims", "32", "--batch-size", "32",
        "--occlusion-windows", "32", "-q"]


@pytest.mark.slow
def test_resume_skips_finished_folds_and_refuses_other_options(small_seed: Path,
                                                                tmp_path: Path) -> None:
    """Three runs into one folder (fold processes, export): 52 s on the idle 2-core machine,
    so it runs in ``make test-all`` (CI), not ``make test``."""
    out = tmp_path / "run"
    model = tmp_path / "model.safetensors"
    args = ["--data", str(small_seed), "--out", str(out), "--subjects", "1", "--epochs", "1",
            "--loss", "ce", *FAST]
    assert train_main([*args, "--export", str(model)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [f["name"] for f in report["folds"]] == ["sub01_ses1", "sub01_ses2"]
    loaded = load_model(model)  # the exported model file round trip
    assert loaded.meta.synthetic and loaded.meta.window_samples == 200
    assert loaded.meta.channel_names[0] == "FP1" and loaded.meta.normalisation.std.shape == (62,)
    assert loaded.meta.metrics["accuracy_mean"] == pytest.approx(
        report["summary"]["accuracy_mean"])
    assert report["export"]["path"] == str(model)
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "folds").glob("*.json")}
    assert train_main(args) == 0
    assert stamp == {p.name: p.stat().st_mtime_ns for p in (out / "folds").glob("*.json")}
    assert train_main([*args[:-len(FAST)], *FAST, "--lr", "0.01"]) == 2  # other options
    assert train_main([*args, "--lr", "0.01", "--fresh"]) == 0


def test_cross_session_and_loso_use_a_memory_mapped_cache(small_seed: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "loso"
    assert train_main(["--data", str(small_seed), "--out", str(out), "--protocol", "loso",
                       "--sessions", "1", "--epochs", "1", "--loss", "ce", *FAST]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [f["subject"] for f in report["folds"]] == [1, 2]
    assert all(f["session"] is None for f in report["folds"])
    assert list((out / "cache").rglob("*.x.npy"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_end_to_end_train_beats_chance(small_seed: Path, tmp_path: Path) -> None:
    out = tmp_path / "e2e"
    code = train_main(["--data", str(small_seed), "--out", str(out), "--subjects", "1",
                       "--sessions", "1", "--epochs", "12", "--stride-seconds", "0.25", *FAST])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["synthetic"] is True
    fold = report["folds"][0]
    # trials 10-15, 30 s (6001 samples) at stride 0.25 s, each cut after the filters' warm-up
    warm = math.ceil(SignalChain(200.0, FilterSpec()).warmup_seconds() * 200 - 1e-9)
    assert fold["n_test"] == 6 * ((6001 - warm - 200) // 50 + 1)
    h = fold["history"]
    assert h["loss_contrastive"][-1] < h["loss_contrastive"][0]
    assert h["loss_ce"][-1] < h["loss_ce"][0]
    # chance is 1/3; with the default filter chain, seeds 0-3 gave 0.47-0.58 (0.50-0.57 with
    # --no-filter): one fold of six test trials is noisy, so the bar sits below that range
    assert report["summary"]["accuracy_mean"] > 0.45
    assert len(report["channel_importance"]["accuracy_drop"]) == 62
    precision = resolve_precision("auto", torch.device("cpu"))
    assert report["runtime"]["precision"] == precision
    assert f"({precision} training)" in (out / "report.md").read_text()
    for name in ("report.md", "fold_accuracy.png", "confusion.png", "training_curves.png",
                 "channel_importance.png"):
        assert (out / name).stat().st_size > 1000, name


def test_every_phase_is_announced_and_quiet_silences_them(
        seed_folder: Path, tmp_path: Path, capfd: pytest.CaptureFixture,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the steps come the baseline, the channel occlusion, the export and the report:
    each says what it does (a line or a bar); ``-q`` prints none of it, only errors. ~10 s."""
    import logging

    from offline_training.cli import main

    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # -q sets it: undone after the test
    root_level = logging.getLogger().level
    monkeypatch.setattr(logging.getLogger(), "level", root_level)  # -q sets WARNING

    args = ["--data", str(seed_folder), "--protocol", "subject-dependent", "--epochs", "1",
            "--min-steps", "2", "--occlusion-windows", "16", "--window-seconds", "1",  # 12 test
            "--stride-seconds", "1"]
    assert main([*args, "--out", str(tmp_path / "a"), "--export",
                 str(tmp_path / "a.safetensors")]) == 0
    out, err = capfd.readouterr()
    said = "\n".join(r.getMessage() for r in caplog.records)
    for phase in ("CSP + LDA baseline on the same", "channel importance: zeroing each of 62 "
                  "channels on 12 test windows", "export: training one model on all",
                  "writing the report and its figures"):
        assert phase in said, (phase, said)
    assert "channel importance" in err and "step" in err  # the bars
    assert "over 1 fold" in out and "fold(s)" not in out
    caplog.clear()
    assert main([*args, "--out", str(tmp_path / "b"), "-q"]) == 0
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    assert not [r for r in caplog.records if r.levelno < logging.WARNING]
