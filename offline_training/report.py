"""Training report: the summary block, ``report.json`` and a human-readable ``report.md``.

The report dictionary (built by the trainer) has the keys ``config``, ``data``, ``class_names``,
``folds``, ``summary``, ``channel_importance``, ``runtime`` and ``export``; accuracies and
macro-F1 are fractions in [0, 1] (shown as percentages in ``report.md``), confusion matrices are
counts with rows = true class and columns = predicted class. Standard deviations are population
standard deviations over folds (``ddof=0``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.jsonable import jsonable
from models.preprocessing import FilterSpec
from models.wording import count, plural
from offline_training.figures import FIGURE_FILES, figures_with_data

__all__ = ["PUBLISHED", "canonical_protocol", "protocol_text", "summarise_folds", "write_report"]

PUBLISHED: dict[str, list[tuple[str, float, float | None]]] = {
    "subject-dependent": [
        ("SVM on DE", 83.99, 9.72),
        ("DGCNN", 90.40, 8.49),
        ("BiDANN", 92.38, 7.04),
        ("BiHDM", 93.12, 6.06),
        ("RGNN", 94.24, 5.95),
        ("SI-CLEER", 95.45, None),
        ("SST-EmotionNet", 96.02, 2.17),
    ],
    "loso": [
        ("DGCNN", 79.95, None),
        ("RGNN", 85.30, None),
        ("BiHDM", 85.40, None),
        ("SOGNN", 86.81, None),
    ],
    "cross-session": [],
}
"""Published SEED accuracies (%) by protocol, (method, mean, std or None): docs/SEED_FORMAT.md."""

_PROTOCOL_ALIASES = {
    "subject-dependent": "subject-dependent", "dependent": "subject-dependent",
    "sd": "subject-dependent",
    "loso": "loso", "subject-independent": "loso", "independent": "loso",
    "leave-one-subject-out": "loso", "si": "loso",
    "cross-session": "cross-session", "cs": "cross-session",
}  # fmt: skip

_PROTOCOL_TEXT = {
    "subject-dependent": "subject-dependent (per session: trials 1-9 train, trials 10-15 test)",
    "loso": "subject-independent (leave one subject out)",
    "cross-session": "cross-session (train on two sessions of a subject, test on the third)",
}


_RECORDING_PROTOCOL_TEXT = {
    "subject-dependent": "subject-dependent (per recording: the first {fraction} of its trials "
                         "by time train, the rest test)",
    "loso": "subject-independent (leave one subject out)",
    "cross-session": "cross-session (per subject: train on its other recordings, test on the "
                     "one left out)",
}


def protocol_text(protocol: str, data: dict[str, Any] | None = None,
                  config: dict[str, Any] | None = None) -> str:
    """The protocol in words, for SEED (the default) or recordings (``data["format"]``)."""
    if (data or {}).get("format") == "recordings":
        fraction = float((config or {}).get("train_fraction") or 0.6)
        text = _RECORDING_PROTOCOL_TEXT.get(protocol, protocol or "unknown")
        return text.format(fraction=f"{100 * fraction:g} %")
    return _PROTOCOL_TEXT.get(protocol, protocol or "unknown")


def canonical_protocol(protocol: str | None) -> str:
    """Normalised protocol name (``subject-dependent``, ``loso``, ``cross-session``) or as given."""
    key = str(protocol or "").strip().lower().replace("_", "-").replace(" ", "-")
    return _PROTOCOL_ALIASES.get(key, key)


# --------------------------------------------------------------------- summary


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population std (ddof=0) of ``values``; NaN entries are skipped."""
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=0))


def _summed_confusion(folds: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Element-wise sum of the folds' (K, K) confusion matrices, as nested int lists."""
    mats = [np.asarray(f["confusion"], dtype=np.int64) for f in folds]
    shapes = {m.shape for m in mats}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"fold confusion matrices must share one (K, K) shape, got {shapes}")
    return np.sum(mats, axis=0).tolist()


def summarise_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's ``summary`` block from its ``folds``.

    Args:
        folds: dicts with ``subject`` (int), ``accuracy`` and ``macro_f1`` (fractions in [0, 1])
            and ``confusion`` ((K, K) counts, rows true class).

    Returns:
        ``accuracy_mean``, ``accuracy_std``, ``macro_f1_mean``, ``macro_f1_std`` (fractions; std
        over folds with ddof=0), ``n_folds``, ``per_subject`` ({str(subject): {"accuracy_mean",
        "accuracy_std", "n_folds"}}, in subject order) and ``confusion`` (summed over folds).

    Raises:
        ValueError: no folds, or confusion matrices of different shapes.
    """
    if not folds:
        raise ValueError("cannot summarise an empty list of folds")
    acc_mean, acc_std = _mean_std([f.get("accuracy") for f in folds])
    f1_mean, f1_std = _mean_std([f.get("macro_f1") for f in folds])
    by_subject: dict[Any, list[float]] = {}
    for fold in folds:
        by_subject.setdefault(fold.get("subject"), []).append(fold.get("accuracy"))
    per_subject = {}
    for subject in sorted(by_subject, key=lambda s: (s is None, str(s).zfill(8))):
        mean, std = _mean_std(by_subject[subject])
        per_subject[str(subject)] = {
            "accuracy_mean": mean, "accuracy_std": std, "n_folds": len(by_subject[subject]),
        }
    out = {
        "accuracy_mean": acc_mean,
        "accuracy_std": acc_std,
        "macro_f1_mean": f1_mean,
        "macro_f1_std": f1_std,
        "n_folds": len(folds),
        "per_subject": per_subject,
        "confusion": _summed_confusion(folds),
    }
    baselines = [f["baseline"] for f in folds if f.get("baseline")]
    if len(baselines) == len(folds):
        b_mean, b_std = _mean_std([b.get("accuracy") for b in baselines])
        out["baseline"] = {"name": baselines[0].get("name", "baseline"),
                           "accuracy_mean": b_mean, "accuracy_std": b_std}
    for key in ("pretrained", "scratch"):  # --init's comparison rows
        rows = [f.get(key) for f in folds]
        if all(r and "accuracy" in r for r in rows):
            mean, std = _mean_std([r["accuracy"] for r in rows])
            out[key] = {"accuracy_mean": mean, "accuracy_std": std}
        elif any(rows):
            out[key] = {"skipped": next((r.get("skipped") for r in rows
                                         if r and r.get("skipped")), "not in every fold")}
    return out


# --------------------------------------------------------------------- JSON


def _write_json(report: dict[str, Any], path: Path) -> None:
    """Pretty JSON (indent 2, keys sorted, strict: no NaN) with a trailing newline."""
    text = json.dumps(jsonable(report), indent=2, sort_keys=True, allow_nan=False,
                      ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------- Markdown helpers


def _pct(fraction: Any, digits: int = 2) -> str:
    """Fraction -> percent text (``"n/a"`` when missing or not finite)."""
    if fraction is None or not math.isfinite(float(fraction)):
        return "n/a"
    return f"{100.0 * float(fraction):.{digits}f}"


def _cell(value: Any) -> str:
    """A Markdown table cell: scalars as text, containers as JSON, pipes escaped."""
    if isinstance(value, dict | list | tuple):
        value = json.dumps(jsonable(value))
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


# --------------------------------------------------------------------- Markdown sections


def _filters_text(filters: dict[str, Any] | None) -> str:
    if not filters:
        return "no filters (--no-filter)"
    return "causal " + FilterSpec.from_dict(filters).describe()


def _header_section(report: dict[str, Any], protocol: str) -> list[str]:
    """Title, protocol, data description and the synthetic-data warning."""
    data = report.get("data") or {}
    channels = data.get("channels") or []
    names = report.get("class_names") or []
    n_sessions = data.get("n_sessions")
    kind = plural(n_sessions if isinstance(n_sessions, int) else 2,
                  "session" if data.get("format") != "recordings" else "recording")
    lines = [
        "# SI-CLEER training report",
        "",
        f"- **Protocol:** {protocol_text(protocol, data, report.get('config'))}",
        f"- **Data:** `{data.get('root', '?')}`: {data.get('n_sessions', '?')} {kind}, "
        f"{len(channels)} channels at {data.get('sfreq', '?')} Hz, "
        f"{'synthetic (SEED-format stand-in)' if data.get('synthetic') else 'real recordings'}",
        f"- **Classes:** {', '.join(names)}"
        + (f" (chance level {_pct(1 / len(names))} %)" if names else ""),
    ]
    if "preprocessing" in data:
        lines.append(f"- **Signal chain:** {data.get('sfreq')} Hz (the model's rate, every "
                     f"recording resampled to it), "
                     f"{_filters_text((data['preprocessing'] or {}).get('filters'))}")
    if data.get("label_map"):
        lines.append("- **Label map:** " + ", ".join(f"`{k}` = {v}"
                                                     for k, v in data["label_map"].items()))
    lines.append("")
    if data.get("notes"):
        lines += ["Notes on the data:", "", *(f"- {n}" for n in data["notes"][:50]), ""]
    if data.get("synthetic"):
        lines += [
            "> **Warning: synthetic data.** These numbers come from generated SEED-format data "
            "and are not comparable to published SEED results.",
            "",
        ]
    return lines


def _config_section(config: dict[str, Any]) -> list[str]:
    """Table of training options."""
    if not config:
        return []
    return ["## Configuration", "", *_table(["option", "value"], list(config.items())), ""]


_BASELINE_NAMES = {"csp-lda": "CSP + LDA, 8-30 Hz"}


def _folds_section(folds: Sequence[dict[str, Any]], summary: dict[str, Any],
                   protocol: str, n_classes: int) -> list[str]:
    """Mean +/- std line (with the protocol and the chance level 1/K) and the per-fold table."""
    n = summary.get("n_folds", len(folds))
    k = n_classes or 3
    lines = [
        f"## Results ({protocol})",
        "",
        f"**Accuracy ({protocol}): {_pct(summary.get('accuracy_mean'))} ± "
        f"{_pct(summary.get('accuracy_std'))} %"
        f"** (mean ± std over {count(n, 'fold')}); "
        f"macro-F1: {_pct(summary.get('macro_f1_mean'))} ± "
        f"{_pct(summary.get('macro_f1_std'))} %. Chance level (1/{k}): {_pct(1 / k)} %.",
        "",
    ]
    base = summary.get("baseline")
    if base:
        name = _BASELINE_NAMES.get(base["name"], base["name"])
        lines += [f"Classical baseline on the same windows ({name}): "
                  f"{_pct(base.get('accuracy_mean'))} ± {_pct(base.get('accuracy_std'))} % "
                  f"({protocol}).", ""]
    lines += [f"### Per fold ({protocol})", ""]
    has_base = all(f.get("baseline") for f in folds)
    rows = [
        [f.get("name", ""), f.get("subject", ""),
         "all" if f.get("session") is None else f["session"],
         _pct(f.get("accuracy")), _pct(f.get("macro_f1")),
         *([_pct(f["baseline"].get("accuracy"))] if has_base else []),
         f.get("best_step", "-"), "/".join(map(str, f.get("encoder") or [])) or "-",
         f.get("n_train", ""), f.get("n_test", "")]
        for f in folds
    ]
    header = ["fold", "subject", "session", "accuracy (%)", "macro-F1 (%)",
              *(["CSP + LDA (%)"] if has_base else []), "step kept", "encoder",
              "train windows", "test windows"]
    return [*lines, *_table(header, rows), ""]


def _init_section(report: dict[str, Any], summary: dict[str, Any], protocol: str) -> list[str]:
    """With ``--init``: the pretrained model as it is, fine-tuned, and from scratch, on the
    same test trials (and the classical baseline): whether calibrating pays."""
    init = (report.get("data") or {}).get("init")
    if not init:
        return []
    config = report.get("config") or {}
    tuned = ("fine-tuned, head only (--freeze-encoder)" if config.get("freeze_encoder")
             else "fine-tuned (encoder and head)")

    def row(name: str, block: dict[str, Any] | None) -> list[str]:
        if not block:
            return [name, "not run", ""]
        if "skipped" in block:
            return [name, "-", f"not applicable: {block['skipped']}"]
        return [name, f"{_pct(block.get('accuracy_mean'))} ± {_pct(block.get('accuracy_std'))}",
                ""]

    rows = [row(f"pretrained {Path(init['path']).name} as it is", summary.get("pretrained")),
            row(tuned, summary),
            row("trained from scratch", summary.get("scratch"))]
    if summary.get("baseline"):
        rows.append(row("CSP + LDA", summary["baseline"]))
    return [f"## Starting from a pretrained model ({protocol})", "",
            f"Every fold started from `{init['path']}` ({init['n_channels']} channels, "
            f"{init['sfreq']:g} Hz, classes {', '.join(init['class_names'])}); the rows share "
            "the folds' test trials (mean ± std over folds, %).", "",
            *_table(["model", "accuracy (%)", "note"], rows), ""]


def _subjects_section(summary: dict[str, Any], protocol: str = "") -> list[str]:
    """Per-subject mean and std of accuracy."""
    per_subject = summary.get("per_subject") or {}
    if not per_subject:
        return []
    rows = [[s, v.get("n_folds", ""), _pct(v.get("accuracy_mean")), _pct(v.get("accuracy_std"))]
            for s, v in per_subject.items()]
    means = [v.get("accuracy_mean") for v in per_subject.values()]
    mean, std = _mean_std(means)
    header = ["subject", "folds", "accuracy mean (%)", "accuracy std (%)"]
    return [
        f"### Per subject ({protocol})" if protocol else "### Per subject", "",
        *_table(header, rows), "",
        f"Mean of the {len(per_subject)} subject means: {_pct(mean)} ± {_pct(std)} % "
        f"(std over subjects{f'; {protocol}' if protocol else ''}).", "",
    ]  # fmt: skip


def _published_section(protocol: str, summary: dict[str, Any],
                       data: dict[str, Any] | None = None) -> list[str]:
    """Published SEED accuracies for the same protocol only, beside this run's (SEED data only:
    nothing published is comparable with a lab's own recordings)."""
    if (data or {}).get("format") == "recordings":
        return ["### Published results", "", "None: these are your own recordings; compare "
                "with other runs of this project on the same data and protocol, and with the "
                "CSP + LDA baseline above.", ""]
    lines = ["### Published SEED results (same protocol)", ""]
    published = PUBLISHED.get(protocol)
    if not published:
        reason = "cross-session" if protocol == "cross-session" else f"protocol {protocol!r}"
        return [*lines, f"No published numbers for {reason} in our reference table "
                        "(docs/SEED_FORMAT.md in the project); compare with other runs of "
                        "this project only.", ""]
    rows = [[name, f"{mean:.2f}" + ("" if std is None else f" ± {std:.2f}")]
            for name, mean, std in published]
    rows.append(["**this run**", f"**{_pct(summary.get('accuracy_mean'))} ± "
                                 f"{_pct(summary.get('accuracy_std'))}**"])
    notes = ["Published numbers: mean (± std) accuracy in %. SI-CLEER's 95.45 is the mean "
             "across subjects."] if protocol == "subject-dependent" else []
    return [*lines, *_table(["method", "accuracy (%)"], rows), "", *notes, ""]


def _confusion_section(summary: dict[str, Any], class_names: Sequence[str]) -> list[str]:
    """Summed confusion matrix as counts, with per-class recall."""
    confusion = summary.get("confusion")
    if confusion is None:
        return []
    counts = np.asarray(confusion, dtype=np.int64)
    names = list(class_names) or [str(i) for i in range(counts.shape[0])]
    rows = []
    for i, name in enumerate(names):
        total = counts[i].sum()
        recall = _pct(counts[i, i] / total, 1) if total else "n/a"
        rows.append([f"**{name}**", *counts[i].tolist(), recall])
    header = ["true \\ predicted", *names, "recall (%)"]
    return ["## Confusion matrix (summed over folds, test windows)", "",
            *_table(header, rows), ""]


def _importance_section(importance: dict[str, Any] | None) -> list[str]:
    """The channels whose occlusion drop is beyond noise (at most 10, with their region), or
    a line saying that none is; the same ranking as the figure
    (:func:`offline_training.importance.ranked_channels`)."""
    from models.eeg.labels import normalize_label
    from models.eeg.regions import FRONTAL, TEMPORAL, region_of
    from offline_training.importance import ranked_channels

    if not importance or not importance.get("channels"):
        return []
    ranked, noise, n = ranked_channels(importance)
    head = ["## Channel importance (occlusion)", "",
            "Mean drop of test accuracy when one channel is zeroed (percentage points)."]
    if n:
        rule = (f"Drops within ±{100 * noise:.1f} pp (two standard errors of an accuracy on "
                f"{count(n, 'test window')}) are noise and are not ranked.")
    else:
        rule = "The number of windows is not recorded (an older report): positive drops ranked."
    if not ranked:
        return [*head, "", f"**No channel's occlusion changes the test accuracy beyond "
                f"noise**: no ranking is drawn. {rule}", ""]
    region = dict(zip(map(normalize_label, importance["channels"]),
                      region_of(importance["channels"]), strict=True))
    rows = [[k, c, f"{100.0 * d:.2f}", region[normalize_label(c)].replace("other", "-")]
            for k, (c, d) in enumerate(ranked[:10], start=1)]
    n_region = sum(r[3] != "-" for r in rows)
    n_all = sum(r != "other" for r in region.values())
    return [
        *head, rule, "",
        *_table(["rank", "channel", "accuracy drop (pp)", "region"], rows), "",
        f"{n_region} of these {count(len(rows), 'channel')} "
        f"{plural(n_region, 'is', 'are')} frontal or temporal ({n_all} of the model's "
        f"{len(region)} channels are; the regions have {len(FRONTAL) + len(TEMPORAL)} "
        "electrodes).", "",
    ]  # fmt: skip


def _runtime_section(runtime: dict[str, Any] | None, export: dict[str, Any] | None) -> list[str]:
    """Run time, throughput, device, memory peaks and the exported model path."""
    if not runtime and not export:
        return []
    rt = runtime or {}

    def num(key: str, fmt: str) -> str:
        value = rt.get(key)
        return "n/a" if value is None else format(float(value), fmt)

    rows = [
        ["total time (s)", num("seconds", ".1f")],
        ["throughput (windows/s)", num("windows_per_second", ".1f")],
        ["device", rt.get("device", "n/a") + (f" ({rt['precision']} training)"
                                               if rt.get("precision") else "")],
        ["peak RSS (MB)", num("peak_rss_mb", ".0f")],
        ["peak CUDA memory (MB)", num("peak_cuda_mb", ".0f")],
        ["exported model", f"`{export['path']}`" if export and export.get("path") else "none"],
    ]
    return ["## Runtime", "", *_table(["quantity", "value"], rows), ""]


def _figures_section(
    report: dict[str, Any], out_dir: Path, figures: Sequence[Path] | None
) -> list[str]:
    """Markdown image links, relative to ``out_dir``."""
    if figures is None:
        figures = [out_dir / FIGURE_FILES[key] for key in figures_with_data(report)]
    if not figures:
        return []
    lines = ["## Figures", ""]
    for path in map(Path, figures):
        rel = Path(os.path.relpath(path, out_dir)).as_posix()
        lines += [f"![{path.stem.replace('_', ' ')}]({rel})", ""]
    return lines


def _markdown(report: dict[str, Any], out_dir: Path, figures: Sequence[Path] | None) -> str:
    """The whole report.md text."""
    config = report.get("config") or {}
    protocol = canonical_protocol(config.get("protocol"))
    folds = report.get("folds") or []
    summary = report.get("summary") or (summarise_folds(folds) if folds else {})
    lines = [
        *_header_section(report, protocol),
        *_config_section(config),
        *_folds_section(folds, summary, protocol, len(report.get("class_names") or [])),
        *_init_section(report, summary, protocol),
        *_subjects_section(summary, protocol),
        *_published_section(protocol, summary, report.get("data")),
        *_confusion_section(summary, report.get("class_names") or []),
        *_importance_section(report.get("channel_importance")),
        *_runtime_section(report.get("runtime"), report.get("export")),
        *_figures_section(report, out_dir, figures),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write_report(
    report: dict[str, Any], out_dir: Path, figures: Sequence[Path] | None = None
) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir`` (created if missing).

    Args:
        report: the report dictionary (see the module docstring); a missing ``summary`` is
            computed with ``summarise_folds`` for the Markdown (the JSON is written as given).
        out_dir: output folder.
        figures: PNG paths to link from report.md; default: the files ``make_figures(report,
            out_dir)`` writes (``figures_with_data``), whether or not they exist yet.

    Returns:
        (path of report.json, path of report.md).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    _write_json(report, json_path)
    md_path.write_text(_markdown(report, out_dir, figures), encoding="utf-8")
    return json_path, md_path
