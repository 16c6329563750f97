"""Model file: writing and loading the weights (torch), with the description of
:mod:`models.metadata`.

Loading never unpickles: safetensors stores raw tensors, and the JSON is parsed with ``json``.
The digest stored with the file covers every tensor (name, dtype, shape, bytes) and, from
format version 2 on, the metadata text as well, so that a file whose weights or description
were altered after writing is refused.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as serialise

from models.config import ModelConfig
from models.inference import InferencePlan, OneWindowPlan
from models.metadata import (
    DIGEST_KEY,
    METADATA_KEY,
    ModelFileError,
    ModelMetadata,
    metadata_digest,
    read_header,
)
from models.network import SICLEER, network_input

__all__ = ["LoadedModel", "load_model", "save_model", "warm_up_tracing"]

def _tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the tensors holding NaN or infinite values, in name order."""
    return sorted(name for name, t in tensors.items()
                  if t.is_floating_point() and not bool(torch.isfinite(t).all()))


def _describe_non_finite(names: list[str]) -> str:
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"NaN or infinite weights in {len(names)} tensor(s) ({shown})"


def save_model(path: str | Path, net: SICLEER, meta: ModelMetadata) -> Path:
    """Write ``net``'s weights and ``meta`` (as format version 2) to one safetensors file.

    Returns:
        The path written (the file is replaced atomically).

    Raises:
        ValueError: the network's config differs from the metadata's.
        ModelFileError: invalid metadata, or weights with NaN/Inf values (a diverged training
            run); nothing is written then.
    """
    if net.cfg != meta.config:
        raise ValueError("network config and metadata config differ")
    meta.validate()
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in net.state_dict().items()}
    bad = _non_finite(tensors)
    if bad:
        raise ModelFileError(f"not writing {path}: the network has {_describe_non_finite(bad)}; "
                             "training diverged (try a lower --lr)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = meta.to_json()
    header = {METADATA_KEY: text, DIGEST_KEY: metadata_digest(text, _tensor_digest(tensors))}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(serialise(tensors, metadata=header))
    tmp.replace(path)  # a reader never sees a half-written model file
    return path


class LoadedModel:
    """A network ready for inference, with its metadata.

    Inference runs a TorchScript trace: it executes without taking Python's GIL operator by
    operator, so the GUI and acquisition threads beside it neither wait for it nor stretch its
    run time. On the CPU the trace is of :class:`models.inference.InferencePlan` (the same
    function of the same weights, with fewer and cheaper operations): its one-window form for
    single windows (the live engine), and its batch form, traced when first needed, for
    batches (the offline scorer); elsewhere of the network itself. The eager network is the
    fallback when tracing fails.

    Args:
        plan: trace the CPU plan (default); False traces the network itself on the CPU too,
            the path before the plan, which ``benchmarks/live_latency.py`` measures beside it.

    Attributes:
        net: the SI-CLEER network in eval mode on ``device``.
        meta: the file's metadata.
        device: torch device of the network.
        digest: the digest stored in the file (identifies the model, e.g. in session logs).
    """

    def __init__(self, net: SICLEER, meta: ModelMetadata, device: torch.device,
                 digest: str = "", *, plan: bool = True) -> None:
        self.net = net.eval()
        self.meta = meta
        self.device = device
        self.digest = digest
        self._plan = _inference_module(self.net, self.device) if plan else None
        # one window (the live engine's case) and, traced on first use, batches of windows
        self._forward = self._trace(OneWindowPlan(self._plan) if self._plan else self.net)
        self._batched: Callable[[torch.Tensor], torch.Tensor] | None = (
            None if self._plan else self._forward)

    def _trace(self, module: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """Trace of ``module`` on one (1, T, C) window, or ``net`` itself."""
        example = torch.zeros(1, self.meta.window_samples, self.meta.config.n_channels,
                              device=self.device)
        return _traced(module, example, fallback=self.net)

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
        if len(windows) == 1:
            forward = self._forward
        else:
            if self._batched is None:
                self._batched = self._trace(self._plan)
            forward = self._batched
        logits = forward(network_input(windows, self.meta.normalisation, self.device))
        return torch.softmax(logits.float(), dim=-1).cpu().numpy()


def _inference_module(net: SICLEER, device: torch.device) -> InferencePlan | None:
    """The CPU plan of ``net`` on the CPU; None elsewhere (the network itself runs)."""
    if device.type != "cpu":
        return None
    try:
        return InferencePlan(net).eval()
    except Exception:  # never block inference on an optimisation
        return None


def _traced(net: torch.nn.Module, example: torch.Tensor,
            fallback: torch.nn.Module | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """TorchScript trace of ``net`` on ``example``, or ``fallback`` (default ``net``) when
    tracing fails.

    Not frozen and not re-checked: ``torch.jit.freeze`` held the GIL for long stretches while
    a model loads, and the GUI thread waits meanwhile, and it makes the CPU plan no faster
    (docs/RESULTS.md has the figures); the trace check only repeats the trace (neither the
    network nor the plan has data-dependent branches; ``test_model_file_round_trip`` and
    ``tests/models/test_inference_path.py`` compare the trace with the eager net).
    """
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shape checks become constants: fine here
            return torch.jit.trace(net, example, check_trace=False)
    except Exception:  # never block inference on an optimisation
        return net if fallback is None else fallback


def warm_up_tracing() -> None:
    """Trace a tiny network once, so TorchScript's one-time set-up happens now.

    The first trace in a process imports and initialises TorchScript's machinery, holding the
    GIL for much longer stretches than any later load. A GUI calls this before its window
    appears, so the first engine start, which loads the model in a worker thread, does not
    freeze the window.
    """
    net = SICLEER(ModelConfig(n_channels=2, hidden_dims=4, output_dims=8)).eval()
    plan = _inference_module(net, torch.device("cpu"))
    _traced(OneWindowPlan(plan) if plan else net, torch.zeros(1, 64, 2))


def load_model(path: str | Path, device: str | torch.device = "cpu", *,
               plan: bool = True) -> LoadedModel:
    """Read, validate and build a model file.

    ``plan``: see :class:`LoadedModel` (False only to measure the path before the plan).

    Raises:
        ModelFileError: missing file, not safetensors, no or invalid metadata, tensors whose
            names or shapes differ from what the metadata's architecture needs, weights (or,
            from format 2 on, metadata) that no longer match the digest written with them, or
            weights with NaN/Inf values.
    """
    path = Path(path)
    read_header(path)  # clear messages for directories, pickles and other non-safetensors
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} is not a readable safetensors model file: {exc}") from exc
    if METADATA_KEY not in header:
        raise ModelFileError(f"{path} has no SI-CLEER metadata (was it written by save_model?)")
    try:
        meta = ModelMetadata.from_json(header[METADATA_KEY])
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
    stored = header.get(DIGEST_KEY)
    if stored is None:
        raise ModelFileError(f"{path} has no digest ({DIGEST_KEY}): it was not written by "
                             "save_model, or was edited since")
    expected_digest = _tensor_digest(tensors)
    if meta.format_version >= 2:
        expected_digest = metadata_digest(header[METADATA_KEY], expected_digest)
    if stored != expected_digest:
        covered = "weights" if meta.format_version < 2 else "weights or metadata"
        raise ModelFileError(f"{path}: {covered} do not match the digest stored with them "
                             "(the file was altered or damaged after it was written)")
    bad = _non_finite(tensors)
    if bad:
        raise ModelFileError(f"{path}: {_describe_non_finite(bad)}; the model would predict "
                             "nonsense (was it exported from a diverged training run?)")
    net.load_state_dict(tensors)
    dev = torch.device(device)
    return LoadedModel(net.to(dev), meta, dev, stored, plan=plan)
