"""Model-file metadata: what a trained network needs to be used on new data (torch-free).

A model file is one safetensors file. Its header metadata holds, under the key ``sicleer``, the
JSON form of :class:`ModelMetadata`, and under ``sicleer_sha256`` a SHA-256 digest. This module
defines the description and reads it straight from the file's header (:func:`read_metadata`),
without torch or the weights, so that pickers and listings stay light; :mod:`models.io` reads
the weights and checks the digest.

Format versions (``format_version`` in the JSON):

- **2** (written now): architecture, channels, rate, window, class names; ``preprocessing``
  (unit, normalisation, the causal filters applied to the training data, or null);
  ``provenance`` (participant, session, recordings, trials, label map, the model it started
  from); ``loss`` (the training recipe); protocol, metrics, training options, synthetic flag,
  project version, creation time. The digest covers the metadata JSON and every tensor.
- **1** (read, never written): the same without ``preprocessing`` (its ``norm_mean``,
  ``norm_std``, ``demean_windows`` and ``unit`` sat at the top level), ``provenance`` and
  ``loss``; its digest covers the tensors only.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models._version import __version__
from models.config import ModelConfig
from models.eeg.seed_layout import SEED_CLASS_NAMES
from models.preprocessing import FilterSpec, Normalisation

__all__ = [
    "BOUNDS",
    "DEMO_MODEL_PATH",
    "DIGEST_KEY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "READABLE_VERSIONS",
    "LossRecipe",
    "ModelFileError",
    "ModelMetadata",
    "Preprocessing",
    "Provenance",
    "metadata_digest",
    "read_header",
    "read_metadata",
]

FORMAT_NAME = "sicleer-model"
FORMAT_VERSION = 2
"""Version written by :func:`models.io.save_model`."""
READABLE_VERSIONS = (1, 2)
METADATA_KEY = "sicleer"
DIGEST_KEY = "sicleer_sha256"
DEMO_MODEL_PATH = Path(__file__).resolve().parent / "pretrained" / "sicleer_demo.safetensors"
"""The shipped demo model (synthetic SEED-format training data)."""

_MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the JSON header


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or inconsistent with its own metadata."""


@dataclass(frozen=True)
class Preprocessing:
    """What was done to the training data before windows reached the network.

    Attributes:
        normalisation: per-channel scaling of each window (fitted on training data).
        filters: the causal filter chain applied to every training recording (as applied at
            the model's rate, :meth:`FilterSpec.at_rate`), or None when the training data was
            not filtered (format-1 files, ``sicleer-train --no-filter``).
        unit: unit of the raw input the normalisation expects.
    """

    normalisation: Normalisation
    filters: FilterSpec | None = None
    unit: str = "uV"

    @property
    def live_filters(self) -> FilterSpec:
        """The chain the model runs live (before any command-line override): the one it
        declares, else the live defaults (:class:`FilterSpec`)."""
        return self.filters if self.filters is not None else FilterSpec()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"unit": self.unit, "normalisation": self.normalisation.to_dict(),
                "filters": self.filters.to_dict() if self.filters is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`."""
        filters = data.get("filters")
        return cls(Normalisation.from_dict(data["normalisation"]),
                   FilterSpec.from_dict(filters) if filters is not None else None,
                   str(data.get("unit", "uV")))


@dataclass(frozen=True)
class Provenance:
    """Whose data a model was trained on (filled by calibration and fine-tuning).

    Attributes:
        participant: participant or subject identifier, if known.
        session: session identifier, if known.
        recordings: files the training data came from.
        trials: the trials used, e.g. ``[{"recording": "s.xdf", "trial": 3, "label": "positive"}]``.
        label_map: marker text or annotation (or pattern) -> class name, as given.
        init_model: digest (or path) of the model file that training started from.
    """

    participant: str | None = None
    session: str | None = None
    recordings: tuple[str, ...] = ()
    trials: tuple[dict[str, Any], ...] = ()
    label_map: dict[str, str] = field(default_factory=dict)
    init_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"participant": self.participant, "session": self.session,
                "recordings": list(self.recordings), "trials": [dict(t) for t in self.trials],
                "label_map": dict(self.label_map), "init_model": self.init_model}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """Inverse of :meth:`to_dict` (missing keys take their defaults)."""
        return cls(data.get("participant"), data.get("session"),
                   tuple(data.get("recordings", ())), tuple(data.get("trials", ())),
                   dict(data.get("label_map", {})), data.get("init_model"))


@dataclass(frozen=True)
class LossRecipe:
    """How the network was trained.

    Attributes:
        loss: ``joint`` (L_HCL + lambda * L_CE), ``ce`` or ``contrastive`` (then a head).
        lambda_ce: weight of the cross-entropy term.
        alpha: weight of the instance-wise term in the hierarchical loss.
        mask: whether timestamp masking was on.
        balance: rule that balanced the two terms (``"none"``: the paper's plain sum).
    """

    loss: str = "joint"
    lambda_ce: float = 1.0
    alpha: float = 0.5
    mask: bool = True
    balance: str = "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LossRecipe:
        """Inverse of :meth:`to_dict`; keys it does not know are ignored."""
        known = {k: data[k] for k in ("loss", "lambda_ce", "alpha", "mask", "balance")
                 if k in data}
        return cls(**known)


@dataclass
class ModelMetadata:
    """Everything needed to use a trained network on new data.

    Attributes:
        config: architecture hyper-parameters.
        channel_names: input channels in the order the network expects (length n_channels).
        sfreq: sampling rate of the training data (Hz).
        window_samples: window length fed to the network (samples).
        preprocessing: unit, normalisation and filters of the training data.
        class_names: output classes in logit order.
        provenance: whose data it was trained on.
        loss: the training recipe (None when unknown, as in format-1 files without it).
        protocol: training protocol description (e.g. "subject-dependent, export on all data").
        metrics: evaluation results (free-form, JSON-serialisable).
        training: training configuration (free-form, JSON-serialisable).
        synthetic: whether the training data was synthetic (sicleer-synth).
        project_version: version of this project that wrote the file.
        created: ISO-8601 UTC time of writing.
        format_version: version of the file it was read from (``FORMAT_VERSION`` when new).
    """

    config: ModelConfig
    channel_names: list[str]
    sfreq: float
    window_samples: int
    preprocessing: Preprocessing
    class_names: list[str] = field(default_factory=lambda: list(SEED_CLASS_NAMES))
    provenance: Provenance = field(default_factory=Provenance)
    loss: LossRecipe | None = None
    protocol: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    project_version: str = __version__
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION

    @property
    def window_seconds(self) -> float:
        """Window length in seconds."""
        return self.window_samples / self.sfreq

    @property
    def normalisation(self) -> Normalisation:
        """Shortcut for ``preprocessing.normalisation``."""
        return self.preprocessing.normalisation

    def validate(self) -> None:
        """Check internal consistency and plausibility; raise :class:`ModelFileError` naming
        the field and the value.

        Besides agreeing with each other, the numbers must lie within :data:`BOUNDS`, which a
        real EEG model can reach; anything outside (an edited or corrupt file) is refused before
        the app sizes a buffer or a network from it.
        """
        cfg = self.config
        for name in ("n_channels", "n_classes", "hidden_dims", "output_dims", "clf_channels",
                     "depth", "kernel_size"):
            _check_bounds(f"config.{name}", getattr(cfg, name), integer=True)
        n = cfg.n_channels
        _check_names("channel_names", self.channel_names)
        if len(self.channel_names) != n:
            raise ModelFileError(f"metadata lists {len(self.channel_names)} channel names but the "
                                 f"network has n_channels={n}")
        norm = self.preprocessing.normalisation
        for name, values in (("mean", norm.mean), ("std", norm.std)):
            if len(values) != n:
                raise ModelFileError(f"metadata normalisation {name} has {len(values)} values, "
                                     f"expected {n}")
            if not all(math.isfinite(v) for v in values):
                raise ModelFileError(f"metadata normalisation {name} contains NaN or Inf")
        if min(norm.std) <= 0:
            raise ModelFileError("metadata normalisation std must be positive for every channel")
        _check_names("class_names", self.class_names)
        if len(self.class_names) != cfg.n_classes:
            raise ModelFileError(f"metadata lists {len(self.class_names)} class names but the "
                                 f"network has n_classes={cfg.n_classes}")
        _check_bounds("sfreq", self.sfreq)
        _check_bounds("window_samples", self.window_samples, integer=True)
        _check_bounds("window_seconds", self.window_samples / self.sfreq)

    def to_json(self) -> str:
        """Serialise as format version :data:`FORMAT_VERSION` (sorted keys, so the text, and
        with it the digest, depends on the contents only)."""
        data = {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(), "channel_names": list(self.channel_names),
            "sfreq": self.sfreq, "window_samples": self.window_samples,
            "class_names": list(self.class_names),
            "preprocessing": self.preprocessing.to_dict(),
            "provenance": self.provenance.to_dict(),
            "loss": self.loss.to_dict() if self.loss is not None else None,
            "protocol": self.protocol, "metrics": self.metrics, "training": self.training,
            "synthetic": self.synthetic, "project_version": self.project_version,
            "created": self.created,
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        """Parse (format version 1 or 2) and validate; raise :class:`ModelFileError`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"metadata is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT_NAME:
            raise ModelFileError(f"metadata does not describe a {FORMAT_NAME} file")
        version = data.pop("format_version", None)
        if version not in READABLE_VERSIONS:
            raise ModelFileError(f"model format version {version!r} is not supported "
                                 f"(this version reads {', '.join(map(str, READABLE_VERSIONS))})")
        try:
            if version == 1:
                data = _upgrade_v1(data)
            meta = cls(
                config=ModelConfig.from_dict(data.pop("config")),
                preprocessing=Preprocessing.from_dict(data.pop("preprocessing")),
                provenance=Provenance.from_dict(data.pop("provenance", None) or {}),
                loss=(LossRecipe.from_dict(data["loss"]) if data.get("loss") is not None
                      else None),
                format_version=version,
                **{k: v for k, v in data.items() if k != "loss"},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"metadata fields are invalid: {exc!r}") from exc
        meta.validate()
        return meta


BOUNDS: dict[str, tuple[float, float]] = {
    "sfreq": (32.0, 4096.0),
    "window_samples": (8, 65536),
    "window_seconds": (0.05, 30.0),
    "config.n_channels": (1, 512),
    "config.n_classes": (2, 100),
    "config.hidden_dims": (1, 4096),
    "config.output_dims": (1, 4096),
    "config.clf_channels": (1, 4096),
    "config.depth": (1, 16),
    "config.kernel_size": (1, 31),
}
"""Inclusive (low, high) bounds that :meth:`ModelMetadata.validate` enforces: sampling rate in
Hz (EEG amplifiers and the models trained on them: 32 Hz to 4 kHz), window length in samples
and in seconds (at most 30 s: the live engine keeps 30 s of signal), up to 512 channels (the
largest caps with extras), 2 to 100 classes, and network widths, depth and kernel sizes far
beyond the published architecture yet small enough that building the network stays cheap."""


def _check_bounds(name: str, value: Any, integer: bool = False) -> None:
    """Refuse ``value`` unless it is a (whole, when ``integer``) number within BOUNDS[name]."""
    low, high = BOUNDS[name]
    kind = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        what = "a whole number" if integer else "a number"
        raise ModelFileError(f"metadata {name} must be {what}, got {value!r}")
    if not low <= value <= high:
        shown = f"{value}" if isinstance(value, int) else f"{value:g}"
        raise ModelFileError(f"metadata {name} = {shown} is outside the range a real EEG model "
                             f"can have ({low:g} to {high:g})")


def _check_names(field_name: str, names: Any) -> None:
    """Refuse a list of names that is not non-empty, distinct strings."""
    if not isinstance(names, list | tuple) or not names:
        raise ModelFileError(f"metadata {field_name} must be a non-empty list of names")
    bad = [v for v in names if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ModelFileError(f"metadata {field_name} holds entries that are not names: {bad[:5]}")
    repeated = sorted({v for v in names if list(names).count(v) > 1})
    if repeated:
        raise ModelFileError(f"metadata {field_name} contains duplicates: {repeated}")


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A format-1 description in format-2 layout (the training options give the recipe)."""
    data = dict(data)
    norm = {"mean": data.pop("norm_mean"), "std": data.pop("norm_std"),
            "demean": data.pop("demean_windows", True)}
    data["preprocessing"] = {"unit": data.pop("unit", "uV"), "normalisation": norm,
                             "filters": None}
    training = data.get("training") or {}
    if "loss" in training:
        data["loss"] = training
    return data


def read_header(path: str | Path) -> dict[str, str]:
    """The string metadata of a safetensors file's header, read without torch or the weights.

    A safetensors file starts with the length of its JSON header (8 bytes, little-endian),
    then the header, whose ``__metadata__`` entry holds string key/value pairs.

    Raises:
        ModelFileError: a directory, a missing file, or a file that is not safetensors (a
            PyTorch/pickle file is named as such).
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = path.stat().st_size
            if len(head) < 8:
                raise ModelFileError(f"{path} is not a safetensors file (only {size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > min(_MAX_HEADER_BYTES, size - 8):
                # only then: a real header's length may start with these bytes too (3968)
                if head[:2] == b"PK" or head[:1] == b"\x80":
                    raise ModelFileError(f"{path} is not a safetensors file (a PyTorch/pickle "
                                         "file?); export models with sicleer-train --export")
                raise ModelFileError(f"{path} is not a safetensors file (its first bytes do not "
                                     "give a header length that fits the file)")
            header = json.loads(f.read(n))
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is not a safetensors file (unreadable header)") from exc
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def read_metadata(path: str | Path) -> ModelMetadata:
    """The :class:`ModelMetadata` of a model file, from its header only (no torch, no weights).

    The digest is not checked here (it needs the weights): :func:`models.io.load_model` does.

    Raises:
        ModelFileError: see :func:`read_header`; no SI-CLEER metadata; invalid metadata.
    """
    header = read_header(path)
    if METADATA_KEY not in header:
        raise ModelFileError(f"{path} has no SI-CLEER metadata (was it written by save_model?)")
    try:
        return ModelMetadata.from_json(header[METADATA_KEY])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc


def metadata_digest(metadata_json: str, tensor_digest: str) -> str:
    """Format-2 digest: SHA-256 over the metadata JSON text and the tensors' digest."""
    h = hashlib.sha256()
    h.update(metadata_json.encode("utf-8"))
    h.update(b"\0")
    h.update(tensor_digest.encode("ascii"))
    return h.hexdigest()
