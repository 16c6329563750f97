"""Model file: one safetensors file whose header metadata holds a JSON description.

Loading never unpickles: safetensors stores raw tensors, and the JSON is parsed with ``json``.
The metadata key ``sicleer`` holds :class:`ModelMetadata` as JSON; ``sicleer_sha256`` holds a
digest of every tensor (name, dtype, shape, bytes) so that a file whose weights were altered
after writing is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as serialise

from models._version import __version__
from models.config import ModelConfig
from models.network import SICLEER

FORMAT_NAME = "sicleer-model"
FORMAT_VERSION = 1
DEMO_MODEL_PATH = Path(__file__).resolve().parent / "pretrained" / "sicleer_demo.safetensors"


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or inconsistent with its own metadata."""


@dataclass
class ModelMetadata:
    """Everything needed to use a trained network on new data.

    Attributes:
        config: architecture hyper-parameters.
        channel_names: input channels in the order the network expects (length n_channels).
        sfreq: sampling rate of the training data (Hz).
        window_samples: window length fed to the network (samples).
        norm_mean, norm_std: per-channel normalisation (microvolts), fitted on training data;
            the network sees ``(x - mean) / std``, where ``mean`` is each window's own
            per-channel mean when ``demean_windows`` is set, else ``norm_mean``.
        class_names: output classes in logit order.
        unit: unit of the raw input the normalisation expects.
        protocol: training protocol description (e.g. "subject-dependent, export on all data").
        metrics: evaluation results (free-form, JSON-serialisable).
        training: training configuration (free-form, JSON-serialisable).
        synthetic: whether the training data was synthetic (sicleer-synth).
        project_version: version of this project that wrote the file.
        created: ISO-8601 UTC time of writing.
    """

    config: ModelConfig
    channel_names: list[str]
    sfreq: float
    window_samples: int
    norm_mean: list[float]
    norm_std: list[float]
    class_names: list[str] = field(default_factory=lambda: ["negative", "neutral", "positive"])
    unit: str = "uV"
    demean_windows: bool = True
    protocol: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    project_version: str = __version__
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def window_seconds(self) -> float:
        """Window length in seconds."""
        return self.window_samples / self.sfreq

    def validate(self) -> None:
        """Check internal consistency; raise :class:`ModelFileError` naming the field."""
        n = self.config.n_channels
        if len(self.channel_names) != n:
            raise ModelFileError(f"metadata lists {len(self.channel_names)} channel names but the "
                                 f"network has n_channels={n}")
        if len(set(self.channel_names)) != n:
            raise ModelFileError("metadata channel_names contains duplicates")
        for name in ("norm_mean", "norm_std"):
            values = getattr(self, name)
            if len(values) != n:
                raise ModelFileError(f"metadata {name} has {len(values)} values, expected {n}")
            if not all(math.isfinite(v) for v in values):
                raise ModelFileError(f"metadata {name} contains NaN or Inf")
        if min(self.norm_std) <= 0:
            raise ModelFileError("metadata norm_std must be positive for every channel")
        if len(self.class_names) != self.config.n_classes:
            raise ModelFileError(f"metadata lists {len(self.class_names)} class names but the "
                                 f"network has n_classes={self.config.n_classes}")
        if not (self.sfreq > 0 and math.isfinite(self.sfreq)):
            raise ModelFileError(f"metadata sfreq must be a positive number, got {self.sfreq!r}")
        if self.window_samples < 2:
            raise ModelFileError(f"metadata window_samples must be >= 2, got {self.window_samples}")

    def to_json(self) -> str:
        """Serialise (the config becomes a nested dictionary)."""
        data = asdict(self)
        data["config"] = self.config.to_dict()
        return json.dumps({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **data},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        """Parse and validate; raise :class:`ModelFileError` on any problem."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"metadata is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT_NAME:
            raise ModelFileError(f"metadata does not describe a {FORMAT_NAME} file")
        version = data.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise ModelFileError(f"model format version {version!r} is not supported "
                                 f"(this version reads {FORMAT_VERSION})")
        try:
            data["config"] = ModelConfig.from_dict(data["config"])
            meta = cls(**data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"metadata fields are invalid: {exc}") from exc
        meta.validate()
        return meta


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_model(path: str | Path, net: SICLEER, meta: ModelMetadata) -> Path:
    """Write ``net``'s weights and ``meta`` to one safetensors file; returns the path."""
    if net.cfg != meta.config:
        raise ValueError("network config and metadata config differ")
    meta.validate()
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"sicleer": meta.to_json(), "sicleer_sha256": _digest(tensors)}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(serialise(tensors, metadata=header))
    tmp.replace(path)  # a reader never sees a half-written model file
    return path


class LoadedModel:
    """A network ready for inference, with its metadata.

    Inference runs a TorchScript trace of the network: it executes without taking Python's
    GIL operator by operator, so the GUI and acquisition threads beside it neither wait for
    it nor stretch its run time. The eager network is the fallback when tracing fails.

    Attributes:
        net: the SI-CLEER network in eval mode on ``device``.
        meta: the file's metadata.
        device: torch device of the network.
    """

    def __init__(self, net: SICLEER, meta: ModelMetadata, device: torch.device) -> None:
        self.net = net.eval()
        self.meta = meta
        self.device = device
        self._mean = np.asarray(meta.norm_mean, dtype=np.float32)[:, None]
        self._inv_std = (1.0 / np.asarray(meta.norm_std, dtype=np.float32))[:, None]
        self._forward = self._trace()

    def _trace(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Trace of ``net`` for (batch, T, C) inputs, or ``net`` itself."""
        example = torch.zeros(1, self.meta.window_samples, self.meta.config.n_channels,
                              device=self.device)
        return _traced(self.net, example)

    def normalise(self, windows: np.ndarray) -> np.ndarray:
        """(batch, C, T) microvolts -> (batch, C, T) normalised float32."""
        centre = windows.mean(axis=-1, keepdims=True) if self.meta.demean_windows else self._mean
        return ((windows - centre) * self._inv_std).astype(np.float32, copy=False)

    @torch.inference_mode()
    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Args:
            windows: (batch, n_channels, window_samples) in the model's unit (microvolts),
                channels in ``meta.channel_names`` order.

        Returns:
            (batch, n_classes) float32 probabilities (rows sum to 1).
        """
        windows = np.asarray(windows, dtype=np.float32)
        c, t = self.meta.config.n_channels, self.meta.window_samples
        if windows.ndim != 3 or windows.shape[1:] != (c, t):
            raise ValueError(f"model expects windows of shape (batch, {c}, {t}), "
                             f"got {windows.shape}")
        x = torch.from_numpy(self.normalise(windows)).to(self.device).transpose(1, 2)
        logits = self._forward(x)
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()


def _traced(net: torch.nn.Module,
            example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """TorchScript trace of ``net`` on ``example``, or ``net`` when tracing fails.

    Not frozen and not re-checked: ``torch.jit.freeze`` saved about 0.7 ms a window (demo
    model, inference p50 3.2 -> 2.5 ms) but held the GIL for up to 33 ms at a stretch while
    loading, and the GUI thread waits meanwhile (11 ms without it); the trace check only
    repeats the trace (the network has no
    data-dependent branches; ``test_model_file_round_trip`` compares the trace with the eager
    net).
    """
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shape checks become constants: fine here
            return torch.jit.trace(net, example, check_trace=False)
    except Exception:  # never block inference on an optimisation
        return net


def warm_up_tracing() -> None:
    """Trace a tiny network once, so TorchScript's one-time set-up happens now.

    The first trace in a process imports and initialises TorchScript's machinery: about a
    second, during which the GIL was held for up to 130 ms at a stretch (later loads: 11 ms).
    A GUI calls this before its window appears, so the first engine start, which loads the
    model in a worker thread, does not freeze the window.
    """
    net = SICLEER(ModelConfig(n_channels=2, hidden_dims=4, output_dims=8)).eval()
    _traced(net, torch.zeros(1, 64, 2))


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Read, validate and build a model file.

    Raises:
        ModelFileError: missing file, not safetensors, no or invalid metadata, tensors whose
            names or shapes differ from what the metadata's architecture needs, or weights
            that no longer match the digest written with them.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} is not a readable safetensors model file: {exc}") from exc
    if "sicleer" not in header:
        raise ModelFileError(f"{path} has no SI-CLEER metadata (was it written by save_model?)")
    try:
        meta = ModelMetadata.from_json(header["sicleer"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    net = SICLEER(meta.config)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
        parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else "",
                 "wrong shape " + ", ".join(f"{k} {found[k]} != {expected[k]}" for k in wrong)
                 if wrong else ""]
        raise ModelFileError(f"{path}: weights do not match the architecture in its metadata: "
                             + "; ".join(p for p in parts if p))
    if header.get("sicleer_sha256") != _digest(tensors):
        raise ModelFileError(f"{path}: weights do not match the digest stored with them "
                             "(the file was altered or damaged after it was written)")
    net.load_state_dict(tensors)
    dev = torch.device(device)
    return LoadedModel(net.to(dev), meta, dev)
