"""One ``sicleer-train`` run: folds of a protocol, resumable, then report and export.

The data (:func:`offline_training.dataset.load_data`) are a SEED folder or lab recordings;
everything below works on their sessions, windows, channels, rate and classes alike.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.device import device_name, resolve_precision
from models.io import save_model
from models.metadata import LossRecipe, ModelMetadata, Preprocessing, Provenance
from models.network import SICLEER
from models.preprocessing import Normalisation
from models.wording import count
from offline_training.baseline import CSPLDA
from offline_training.config import TrainConfig
from offline_training.data import WindowStore
from offline_training.dataset import TrainingData, load_data, select_sessions
from offline_training.distributed import Ranks, label_log_lines, rank_device, share
from offline_training.evaluate import accuracy, confusion, macro_f1, occlusion_importance
from offline_training.pretrained import Pretrained
from offline_training.progress import bar as progress_bar
from offline_training.progress import follow_parent_logging, worker_log_level
from offline_training.protocols import Fold, all_trials, make_folds
from offline_training.stacked import fit_stacked, parallel_folds
from offline_training.train import History, fit, predict
from offline_training.windows import WindowPool, fit_normalisation

__all__ = ["baseline_scores", "export_model", "peak_rss_mb", "run", "run_fold", "run_folds",
           "run_folds_isolated", "select_sessions"]

log = logging.getLogger("sicleer.train")


def _fold_worker(cfg: TrainConfig, indices: list[int], log_level: int | None = None) -> None:
    """Child-process body: train and evaluate folds ``indices`` (several: side by side) and
    write their result files, saying what it does as the parent would (``log_level``:
    :func:`worker_log_level`)."""
    follow_parent_logging(log_level)
    label_log_lines()  # under torchrun: "[rank r/N]", as the rank that started this process
    device = rank_device(cfg.device)  # under torchrun on GPUs: cuda:LOCAL_RANK
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    data, folds = _plan(cfg)
    group = [folds[k] for k in indices]
    for fold, entry in zip(group, run_folds(group, data, cfg, device,
                                            [cfg.seed + k for k in indices]), strict=True):
        _write_fold(cfg, fold, entry)


def run_folds_isolated(cfg: TrainConfig, indices: list[int], folds: list[Fold],
                       check: Callable[[], None] | None = None,
                       check_every: float = 2.0) -> list[dict[str, Any]]:
    """Run folds ``indices`` (of ``folds``) in a fresh process and read back their result
    files; several folds train side by side there (:func:`run_folds`).

    Each process's memory goes back to the system when it ends: in one long process the
    resident size crept up with every fold (docs/RESULTS.md), which 45 folds within the
    3-GB bound cannot afford.

    ``check`` (under torchrun: :meth:`Ranks.check`) is called every ``check_every`` seconds
    while the folds train; whatever it raises ends the process and goes on up.
    """
    names = ", ".join(folds[k].name for k in indices)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_fold_worker, args=(cfg, list(indices), worker_log_level()),
                       name=f"fold-{folds[indices[0]].name}")
    proc.start()
    try:
        while proc.exitcode is None:
            proc.join(check_every if check is not None else None)
            if check is not None and proc.exitcode is None:
                check()
    except BaseException:  # Ctrl-C, a stop signal, another rank's failure
        proc.terminate()
        proc.join()
        raise
    if proc.exitcode != 0:
        what = f"fold {names}" if len(indices) == 1 else f"folds {names} (side by side)"
        raise RuntimeError(f"{what} failed in its worker process "
                           f"(exit code {proc.exitcode}); see the messages above")
    return [json.loads(_fold_path(cfg, folds[k]).read_text()) for k in indices]


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process or of its largest fold process so far, in MiB.

    None where the ``resource`` module does not exist (Windows).
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # Linux reports KiB, macOS bytes
    return max(own, children) / (2**20 if sys.platform == "darwin" else 1024)


def _fold_path(cfg: TrainConfig, fold: Fold) -> Path:
    return cfg.out / "folds" / f"{fold.name}.json"


def _write_fold(cfg: TrainConfig, fold: Fold, entry: dict[str, Any]) -> None:
    """Write a finished fold's result file (atomically: a resumed run never reads half)."""
    tmp = _fold_path(cfg, fold).with_suffix(".tmp")
    tmp.write_text(json.dumps(entry))
    tmp.replace(_fold_path(cfg, fold))


def _read_fold(cfg: TrainConfig, fold: Fold) -> dict[str, Any]:
    """Rank 0 under torchrun: the result file of a fold another rank (or this one) trained."""
    path = _fold_path(cfg, fold)
    try:
        done = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RuntimeError(f"{path}: fold {fold.name} was reported finished but its result "
                           f"file cannot be read ({exc}); is --out on a file system every "
                           "node sees?") from None
    if done.get("fingerprint") != cfg.fingerprint():
        raise RuntimeError(f"{path} was produced with other options than this run's")
    return done


def _load_finished(cfg: TrainConfig, fold: Fold) -> dict[str, Any] | None:
    path = _fold_path(cfg, fold)
    if cfg.fresh or not path.exists():
        return None
    try:
        done = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # interrupted while writing: redo
    if done.get("fingerprint") != cfg.fingerprint():
        raise ValueError(f"{path} was produced with other options; use another --out or "
                         "--fresh to start over")
    return done


@dataclass
class _Prepared:
    """A fold ready to train: its windows, normalisation and starting network."""

    fold: Fold
    seed: int
    train_pool: WindowPool
    test_pool: WindowPool
    norm: Normalisation
    init: SICLEER | None
    head_kept: bool
    started: float


def _prepare(fold: Fold, data: TrainingData, cfg: TrainConfig, device: torch.device,
             seed: int) -> _Prepared:
    """Read a fold's windows, fit its normalisation, build its pretrained start (if any)."""
    t0 = time.perf_counter()
    unit = "recording" if data.kind == "recordings" else "session"
    n_sessions = len({id(s) for s, _ in [*fold.train, *fold.test]})
    log.info("fold %s: reading the windows of %s%s", fold.name, count(n_sessions, unit),
             " (cut and cached once, then memory-mapped)" if data.kind == "seed"
             and getattr(data.store, "cache_dir", None) is not None else "")
    train_pool = data.store.pool(fold.train, desc=f"{fold.name} data")
    test_pool = data.store.pool(fold.test, desc=f"{fold.name} data")
    if len(train_pool) == 0 or len(test_pool) == 0:
        raise ValueError(f"fold {fold.name}: empty split ({len(train_pool)} train, "
                         f"{count(len(test_pool), 'test window')}); are the trials shorter "
                         "than a window?")
    norm = fit_normalisation(train_pool)
    pre = data.pretrained
    init, head_kept = (pre.network(data.class_names, device, seed) if pre is not None
                       else (None, False))
    return _Prepared(fold, seed, train_pool, test_pool, norm, init, head_kept, t0)


def run_fold(fold: Fold, data: TrainingData, cfg: TrainConfig, device: torch.device,
             seed: int) -> dict[str, Any]:
    """Train and evaluate one fold; returns its report entry."""
    return run_folds([fold], data, cfg, device, [seed])[0]


def run_folds(folds: list[Fold], data: TrainingData, cfg: TrainConfig, device: torch.device,
              seeds: list[int]) -> list[dict[str, Any]]:
    """Train and evaluate folds (several: side by side, :mod:`offline_training.stacked`,
    those of one network shape together); returns their report entries.

    Each fold trains as it would alone, to float tolerance; its ``train_seconds`` is its
    share of the time its stack trained (``stacked``: how many folds that stack held).
    """
    ready = [_prepare(f, data, cfg, device, s) for f, s in zip(folds, seeds, strict=True)]
    n_classes = len(data.class_names)
    stacks: dict[tuple[int, int], list[_Prepared]] = {}
    for p in ready:
        dims = ((p.init.cfg.hidden_dims, p.init.cfg.output_dims) if p.init is not None
                else cfg.encoder_dims(len(p.train_pool)))
        stacks.setdefault(dims, []).append(p)
    trained: dict[int, tuple[SICLEER, History, int, float, int]] = {}
    for stack in stacks.values():
        t0 = time.perf_counter()
        if len(stack) == 1:
            p = stack[0]
            fits = [fit(p.train_pool, p.norm, cfg, device, p.seed, desc=p.fold.name,
                        n_classes=n_classes, init=p.init, geometry_seed=cfg.seed)]
        else:
            log.info("training %s side by side: %s", count(len(stack), "fold"),
                     ", ".join(p.fold.name for p in stack))
            fits = fit_stacked([p.train_pool for p in stack], [p.norm for p in stack], cfg,
                               device, [p.seed for p in stack],
                               descs=[p.fold.name for p in stack], n_classes=n_classes,
                               inits=[p.init for p in stack], geometry_seed=cfg.seed)
        share_s = (time.perf_counter() - t0) / len(stack)
        for p, (net, history, seen) in zip(stack, fits, strict=True):
            trained[id(p)] = (net, history, seen, share_s, len(stack))
    return [_finish(p, *trained[id(p)], data, cfg, device) for p in ready]


def _finish(p: _Prepared, net: SICLEER, history: History, seen: int, train_seconds: float,
            stacked: int, data: TrainingData, cfg: TrainConfig,
            device: torch.device) -> dict[str, Any]:
    """Evaluate a trained fold (test windows, baseline, channel importance): its entry."""
    fold, train_pool, test_pool, norm, seed = p.fold, p.train_pool, p.test_pool, p.norm, p.seed
    n_classes = len(data.class_names)
    log.info("fold %s: evaluating on %s", fold.name, count(len(test_pool), "test window"))
    probs = predict(net, test_pool, norm, device)
    cm = confusion(test_pool.y, probs.argmax(1), n_classes)
    entry: dict[str, Any] = {
        "name": fold.name, "subject": fold.subject, "session": fold.session,
        "protocol": cfg.protocol,
        "train_trials": len(np.unique(train_pool.trial_key)),
        "test_trials": len(np.unique(test_pool.trial_key)),
        "accuracy": accuracy(cm), "macro_f1": macro_f1(cm), "confusion": cm.tolist(),
        "n_train": len(train_pool), "n_test": len(test_pool),
        "history": history.to_dict(), "best_step": history.best_step, "windows_trained": seen,
        "encoder": [net.cfg.hidden_dims, net.cfg.output_dims],
        "train_seconds": train_seconds, "stacked": stacked, "fingerprint": cfg.fingerprint(),
    }
    pre = data.pretrained
    if pre is not None:
        entry |= _init_rows(pre, p.head_kept, fold, data, cfg, device, seed, train_pool,
                            test_pool, norm)
    if cfg.baseline == "csp-lda":
        log.info("fold %s: CSP + LDA baseline on the same %s and %s", fold.name,
                 count(len(train_pool), "training window"), count(len(test_pool), "test window"))
        entry["baseline"] = baseline_scores(train_pool, test_pool, data.sfreq, n_classes)
    if cfg.occlusion_windows:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(test_pool), min(cfg.occlusion_windows, len(test_pool)),
                                  replace=False))
        log.info("fold %s: channel importance: zeroing each of %s on %s...", fold.name,
                 count(len(data.channels), "channel"), count(len(pick), "test window"))
        drop = occlusion_importance(net, test_pool.take(pick), test_pool.y[pick], norm, device,
                                    desc=f"{fold.name} channel importance")
        entry["channel_importance"] = drop.tolist()
        entry["occlusion"] = {"windows": len(pick), "accuracy": float(
            np.mean(probs[pick].argmax(1) == test_pool.y[pick]))}
    entry["seconds"] = time.perf_counter() - p.started
    return entry


def _scores(pool: WindowPool, probs: np.ndarray, n_classes: int) -> dict[str, Any]:
    cm = confusion(pool.y, probs.argmax(1), n_classes)
    return {"accuracy": accuracy(cm), "macro_f1": macro_f1(cm), "confusion": cm.tolist()}


def _init_rows(pre: Pretrained, head_kept: bool, fold: Fold, data: TrainingData,
               cfg: TrainConfig, device: torch.device, seed: int, train_pool: WindowPool,
               test_pool: WindowPool, norm: Normalisation) -> dict[str, Any]:
    """The comparison that tells a lab whether to calibrate, on the fold's test trials: the
    pretrained model as it is (when its classes are the data's), and trained from scratch."""
    n_classes = len(data.class_names)
    out: dict[str, Any] = {"init": {"path": str(pre.path), "digest": pre.digest,
                                    "head_kept": head_kept,
                                    "frozen_encoder": cfg.freeze_encoder}}
    if pre.same_classes(data.class_names):
        log.info("fold %s: scoring %s as it is on %s", fold.name, pre.path.name,
                 count(len(test_pool), "test window"))
        net, own_norm = pre.as_is(device)
        out["pretrained"] = _scores(test_pool, predict(net, test_pool, own_norm, device),
                                    n_classes)
    else:
        out["pretrained"] = {"skipped": f"its classes ({', '.join(pre.class_names)}) are not "
                                        f"the data's ({', '.join(data.class_names)})"}
    if cfg.scratch:
        log.info("fold %s: training from scratch too, for the comparison", fold.name)
        plain = dataclasses.replace(cfg, init=None, freeze_encoder=False)
        net, _, _ = fit(train_pool, norm, plain, device, seed, desc=f"{fold.name} scratch",
                        n_classes=n_classes, geometry_seed=cfg.seed)
        out["scratch"] = _scores(test_pool, predict(net, test_pool, norm, device), n_classes)
        out["scratch"]["encoder"] = [net.cfg.hidden_dims, net.cfg.output_dims]
    return out


def baseline_scores(train: WindowPool, test: WindowPool, sfreq: float,
                    n_classes: int) -> dict[str, Any]:
    """CSP + LDA (:mod:`offline_training.baseline`) fitted on the fold's training windows and
    scored on its test windows: the same windows as SI-CLEER, no validation hold-out."""
    model = CSPLDA(sfreq)
    model.fit(train.take(np.arange(len(train))), train.y)
    pred = np.concatenate([model.predict(test.take(np.arange(s, min(s + 512, len(test)))))
                           for s in range(0, len(test), 512)])
    cm = confusion(test.y, pred, n_classes)
    return {"name": "csp-lda", "band_hz": list(model.band), "n_filters": model.n_filters,
            "accuracy": accuracy(cm), "macro_f1": macro_f1(cm), "confusion": cm.tolist()}


def _channel_importance(folds: list[dict[str, Any]],
                        channels: list[str]) -> dict[str, Any] | None:
    used = [f for f in folds if f.get("channel_importance")]
    if not used:
        return None
    out: dict[str, Any] = {"channels": list(channels), "accuracy_drop": np.mean(
        [f["channel_importance"] for f in used], 0).tolist()}
    counted = [f["occlusion"] for f in used if f.get("occlusion")]
    if len(counted) == len(used):  # every fold says on how many windows (see ranked_channels)
        n = sum(c["windows"] for c in counted)
        out["n_windows"] = n
        out["accuracy"] = sum(c["accuracy"] * c["windows"] for c in counted) / max(n, 1)
    return out


def _provenance(data: TrainingData) -> Provenance:
    """Whose recordings and which trials a model exported from ``data`` was trained on."""
    if data.kind != "recordings":
        return Provenance(recordings=tuple(str(s.path) for s in data.sessions))
    subjects = sorted({str(s.subject) for s in data.sessions})
    sessions = sorted({str(s.session) for s in data.sessions})
    pre = data.pretrained
    return Provenance(participant=subjects[0] if len(subjects) == 1 else None,
                      session=sessions[0] if len(sessions) == 1 else None,
                      recordings=tuple(str(s.path) for s in data.sessions),
                      trials=tuple(data.trials), label_map=dict(data.label_map),
                      init_model=pre.digest if pre is not None else None)


def export_model(cfg: TrainConfig, data: TrainingData, device: torch.device,
                 summary: dict[str, Any]) -> Path:
    """Train one model on every trial of the selected sessions and write the model file.

    Its ``preprocessing`` records what the training windows went through: the causal filters
    as applied at the model's rate (or null), the normalisation fitted here; its channel names
    and rate are the data's.
    """
    assert cfg.export is not None
    store = data.store
    if (len(data.sessions) > 1 and isinstance(store, WindowStore)
            and store.cache_dir is None):  # never all SEED sessions in memory at once
        store = WindowStore(store.labels, store.window, store.stride, cfg.out / "cache",
                            store.chain)
    pool = store.pool([(s, all_trials(s)) for s in data.sessions], desc="export data")
    log.info("export: training one model on all %s of the %s, for %s",
             count(len(pool), "window"),
             count(len(data.sessions), "recording" if data.kind == "recordings" else "session"),
             cfg.export)
    norm = fit_normalisation(pool)
    pre = data.pretrained
    init = pre.network(data.class_names, device, cfg.seed)[0] if pre is not None else None
    net, history, _ = fit(pool, norm, cfg, device, cfg.seed, desc="export",
                          n_classes=len(data.class_names), init=init)
    meta = ModelMetadata(
        config=net.cfg, channel_names=list(data.channels), sfreq=data.sfreq,
        window_samples=data.window, preprocessing=Preprocessing(norm, data.filters),
        class_names=list(data.class_names), provenance=_provenance(data),
        loss=LossRecipe(cfg.loss, cfg.lambda_ce, cfg.alpha, cfg.mask, cfg.balance),
        protocol=(f"trained on all trials of {count(len(data.sessions), 'session')}; "
                  f"evaluated with {cfg.protocol}"),
        metrics={k: summary.get(k) for k in ("accuracy_mean", "accuracy_std",
                                             "macro_f1_mean", "n_folds")}
        | {"final_train_accuracy": history.train_accuracy[-1] if history.train_accuracy
           else None},
        training=cfg.to_dict() | {"subjects": sorted({s.subject for s in data.sessions},
                                                     key=lambda s: str(s).zfill(8))},
        synthetic=data.synthetic,
    )
    return save_model(cfg.export, net.cpu(), meta)


def _plan(cfg: TrainConfig) -> tuple[TrainingData, list[Fold]]:
    """The data and folds of ``cfg`` (the same in the parent and each worker)."""
    data = load_data(cfg)
    return data, make_folds(data.sessions, cfg.protocol, cfg.train_fraction)


def _share_the_cache(data: TrainingData, ranks: Ranks) -> None:
    """Under torchrun, when the folds read SEED windows from a disk cache (protocols pooling
    sessions): each rank caches its share of the sessions, then all wait for all, so no two
    ranks ever write one session's cache files at once."""
    store = data.store
    if not (ranks.distributed and isinstance(store, WindowStore)
            and store.cache_dir is not None):
        return
    mine = share(len(data.sessions), ranks.rank, ranks.size)
    log.info("caching the windows of %s (its share of %s)", count(len(mine), "session"),
             count(len(data.sessions), "session"))
    for i in mine:
        ranks.check()
        store.get(data.sessions[i])  # type: ignore[arg-type]
    ranks.wait("cache", what="the other ranks' share of the window cache")


def _train_folds(cfg: TrainConfig, data: TrainingData, folds: list[Fold],
                 device: torch.device, ranks: Ranks) -> dict[int, dict[str, Any]]:
    """Train (or find finished) this rank's folds: all of them alone, ``rank::size`` under
    torchrun; fold ``k`` always with seed ``cfg.seed + k``; up to ``--parallel-folds`` of
    them side by side in one process. Returns their entries by index."""
    mine = share(len(folds), ranks.rank, ranks.size)
    if ranks.distributed:
        log.info("%s of %s: %s", count(len(mine), "fold"), len(folds),
                 ", ".join(folds[k].name for k in mine) or "none (more ranks than folds)")
    results: dict[int, dict[str, Any]] = {}
    for k in mine:
        entry = _load_finished(cfg, folds[k])
        if entry is not None:
            results[k] = entry
    pending = [k for k in mine if k not in results]
    size = parallel_folds(cfg, device, len(pending), len(data.channels), data.window,
                          len(data.class_names))
    if results:
        log.info("%s finished before: reused (--fresh starts over)",
                 count(len(results), "fold"))
    if len(pending) > 1 and size > 1:
        log.info("training %s, up to %d side by side (--parallel-folds)",
                 count(len(pending), "fold"), size)
    bar = progress_bar(total=len(mine), desc="folds", unit="fold", dynamic_ncols=True,
                       initial=len(results))
    check = ranks.check if ranks.distributed else None
    for start in range(0, len(pending), size):
        ranks.check()
        group = pending[start: start + size]
        if len(folds) == 1:  # a single fold: no need for a second process
            entries = [run_fold(folds[0], data, cfg, device, cfg.seed)]
            _write_fold(cfg, folds[0], entries[0])
        else:
            entries = run_folds_isolated(cfg, group, folds, check)
        for k, entry in zip(group, entries, strict=True):
            results[k] = entry
        bar.update(len(group))
        mean = np.mean([r["accuracy"] for r in results.values()])
        bar.set_postfix(last=f"{100 * entries[-1]['accuracy']:.1f}%", mean=f"{100 * mean:.1f}%")
    bar.close()
    return results


def run(cfg: TrainConfig, ranks: Ranks | None = None) -> dict[str, Any] | None:
    """Evaluate ``cfg.protocol`` fold by fold (skipping finished folds), write the report.

    Under torchrun (``ranks`` from :func:`offline_training.distributed.joined`) each rank
    trains its share of the folds; once all are done rank 0 reads every fold's result file
    and writes the report, figures and export.

    Returns:
        The report dictionary (also written to ``cfg.out/report.json``); None on ranks other
        than 0.
    """
    from offline_training.figures import make_figures
    from offline_training.report import summarise_folds, write_report

    ranks = ranks if ranks is not None else Ranks.alone()
    t_start = time.perf_counter()
    device = rank_device(cfg.device, ranks.world)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    cfg.out.mkdir(parents=True, exist_ok=True)
    data, folds = _plan(cfg)
    (cfg.out / "folds").mkdir(exist_ok=True)
    log.info("%s, %s, protocol %s; %s at %g Hz; classes %s; filters %s; device %s (%s)",
             count(len(data.sessions), "recording" if data.kind == "recordings" else "session"),
             count(len(folds), "fold"), cfg.protocol, count(len(data.channels), "channel"),
             data.sfreq, ", ".join(data.class_names),
             data.filters.describe() if data.filters is not None else "off",
             device_name(device), resolve_precision(cfg.precision, device))

    _share_the_cache(data, ranks)
    done = _train_folds(cfg, data, folds, device, ranks)
    if ranks.distributed:
        ranks.wait("folds", what="their folds")
        if ranks.rank != 0:
            log.info("my folds are done; rank 0 writes the report and figures to %s", cfg.out)
            return None
        log.info("every rank's folds are done; reading the %s", count(len(folds),
                                                                      "fold result file"))
        done = {k: _read_fold(cfg, fold) for k, fold in enumerate(folds)}
    results = [done[k] for k in range(len(folds))]

    summary = summarise_folds(results)
    trained = sum(r["windows_trained"] for r in results)
    train_s = sum(r["train_seconds"] for r in results)
    summary["chance"] = 1.0 / len(data.class_names)
    report: dict[str, Any] = {
        "config": cfg.to_dict(),
        "data": data.describe(),
        "class_names": list(data.class_names),
        "folds": [{k: v for k, v in r.items() if k not in ("fingerprint", "channel_importance")}
                  for r in results],
        "summary": summary,
        "channel_importance": _channel_importance(results, data.channels),
        "export": None,
    }
    if cfg.export is not None:
        path = export_model(cfg, data, device, summary)
        report["export"] = {"path": str(path)}
    report["runtime"] = {
        "seconds": time.perf_counter() - t_start,
        "windows_per_second": trained / train_s if train_s else None,
        "device": device_name(device),
        "precision": resolve_precision(cfg.precision, device),
        "peak_rss_mb": peak_rss_mb(),
        "peak_cuda_mb": (torch.cuda.max_memory_allocated() / 2**20
                         if device.type == "cuda" else None),
    }
    log.info("writing the report and its figures to %s", cfg.out)
    write_report(report, cfg.out)
    make_figures(report, cfg.out)
    return report
