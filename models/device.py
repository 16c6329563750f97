"""Choosing the torch device (shared by the trainer and the live engine).

``DEVICES`` is importable without torch; the functions import it when called.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICES", "PRECISIONS", "autocast", "device_name", "resolve_device",
           "resolve_precision"]

DEVICES = ("auto", "cpu", "cuda")
"""Accepted ``--device`` values."""

PRECISIONS = ("auto", "fp32", "bf16")
"""Accepted ``--precision`` values (the arithmetic of the network's layers in training)."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """``"cpu"`` or the GPU's name."""
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX tiles), where
    oneDNN's bfloat16 convolutions run about three times as fast as float32 ones."""
    import torch

    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def resolve_precision(name: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``--precision name`` on ``device``.

    ``auto``: ``bf16`` on CUDA and on CPUs with bfloat16 matrix units (AMX), ``fp32``
    elsewhere (without them bfloat16 only adds conversions).

    Raises:
        ValueError: an unknown name.
    """
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    if name != "auto":
        return name
    if device.type == "cuda" or (device.type == "cpu" and _cpu_has_bf16_matrix_units()):
        return "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` (``fp32``/``bf16``, resolved) on ``device``:
    matrix products and convolutions in bfloat16, the rest as autocast decides."""
    import torch

    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
