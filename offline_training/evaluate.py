"""Accuracy, macro-F1, confusion matrix and occlusion channel importance."""

from __future__ import annotations

import numpy as np
import torch

from models.network import SICLEER, network_input
from models.preprocessing import Normalisation
from offline_training.progress import bar as progress_bar


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """(n_classes, n_classes) counts: rows true class, columns predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def accuracy(cm: np.ndarray) -> float:
    """Fraction of correct predictions."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def macro_f1(cm: np.ndarray) -> float:
    """Unweighted mean F1 over classes present in truth or prediction."""
    tp = np.diag(cm).astype(float)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    present = (tp + fp + fn) > 0
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=present)
    return float(f1[present].mean()) if present.any() else float("nan")


@torch.inference_mode()
def occlusion_importance(net: SICLEER, windows: np.ndarray, y: np.ndarray, norm: Normalisation,
                         device: torch.device, batch_size: int = 256,
                         desc: str = "channel importance") -> np.ndarray:
    """Drop of accuracy when each channel is replaced by its training mean.

    Args:
        windows: (n, n_channels, T) microvolts (a sample of test windows).
        y: (n,) true classes.

    Returns:
        (n_channels,) drop of accuracy as a fraction (0.05 = 5 percentage points; positive:
        the channel helped), the unit of every accuracy in the report.
    """
    net.eval()
    x_all = network_input(windows, norm, device)  # (n, T, C)
    y_t = torch.from_numpy(np.asarray(y)).to(device)

    def acc(occlude: int | None) -> float:
        correct = 0
        for start in range(0, len(x_all), batch_size):
            x = x_all[start: start + batch_size]
            if occlude is not None:
                x = x.clone()
                x[:, :, occlude] = 0
            correct += int((net(x).argmax(1) == y_t[start: start + batch_size]).sum())
        return correct / max(len(x_all), 1)

    base = acc(None)
    channels = progress_bar(range(x_all.shape[2]), desc=desc, unit="channel", leave=False,
                    dynamic_ncols=True)
    return np.array([base - acc(c) for c in channels])

