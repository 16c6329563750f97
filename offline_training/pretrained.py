"""Starting from a pretrained model file (``sicleer-train --init MODEL``).

The model file fixes what its network can take: its channels, rate, window and causal filter
chain (the chain it declares; a file that declares none runs the live default chain, so that is
the one its fine-tuning data go through too). The training data are made to fit it:

- **Channels**: each recording's channels are mapped onto the model's with the live app's own
  code (:func:`bci_app.signal.channel_map.build_channel_map`): names compared after
  normalisation and aliases, a few missing channels interpolated by spherical splines from the
  others, a refusal listing the missing ones when too many are absent. The input layer is then
  the pretrained one, unchanged.
- **Classes**: when the data's classes are the model's (same names, same order), its head is
  kept; otherwise a new head (random weights) is made for the data's classes.
- **Normalisation**: refitted on the fold's training windows, as a fresh model's is (the
  participant's amplifier and scalp differ from the pretraining data's); the pretrained model
  "as it is" keeps its own.

``--freeze-encoder`` then trains the head only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.metadata import DIGEST_KEY, ModelMetadata, read_header, read_metadata
from models.preprocessing import FilterSpec

__all__ = ["Pretrained"]


@dataclass(frozen=True)
class Pretrained:
    """A model file to start from (its header; the weights load on :meth:`network`).

    Attributes:
        path: the file.
        meta: its metadata.
        digest: its stored digest (identifies it in caches and reports).
    """

    path: Path
    meta: ModelMetadata
    digest: str

    @classmethod
    def read(cls, path: str | Path) -> Pretrained:
        """The header of ``path``.

        Raises:
            models.metadata.ModelFileError: not a readable model file (names it).
        """
        path = Path(path)
        meta = read_metadata(path)
        return cls(path, meta, read_header(path).get(DIGEST_KEY, ""))

    def _loaded(self) -> Any:
        """The model file loaded on the CPU, once per process (checked against its digest)."""
        loaded = self.__dict__.get("_cpu_model")
        if loaded is None:
            from models import load_model

            loaded = load_model(self.path, "cpu")
            object.__setattr__(self, "_cpu_model", loaded)
        return loaded

    def __getstate__(self) -> dict[str, Any]:  # fold processes load the file themselves
        return {k: v for k, v in self.__dict__.items() if k != "_cpu_model"}

    @property
    def channels(self) -> list[str]:
        """The model's channel names, in input order."""
        return list(self.meta.channel_names)

    @property
    def sfreq(self) -> float:
        """The model's rate (Hz)."""
        return float(self.meta.sfreq)

    @property
    def window(self) -> int:
        """The model's window (samples at :attr:`sfreq`)."""
        return int(self.meta.window_samples)

    @property
    def filters(self) -> FilterSpec:
        """The chain the model runs live: the one it declares, else the live defaults."""
        return self.meta.preprocessing.live_filters

    @property
    def class_names(self) -> list[str]:
        """The model's classes."""
        return list(self.meta.class_names)

    def same_classes(self, class_names: list[str]) -> bool:
        """Whether ``class_names`` are the model's, in its order (its head then applies)."""
        return list(class_names) == self.class_names

    def describe(self) -> dict[str, object]:
        """For reports: path, digest, channels, rate, window, filters, classes."""
        return {"path": str(self.path), "digest": self.digest,
                "n_channels": len(self.channels), "sfreq": self.sfreq,
                "window_samples": self.window, "filters": self.filters.to_dict(),
                "class_names": self.class_names}

    def check_options(self, sfreq: float | None, window_seconds: float,
                      filters: FilterSpec | None) -> None:
        """Refuse options that contradict the model file.

        Raises:
            ValueError: ``--sfreq``, ``--window-seconds`` or the filter options ask for other
                values than the model's (naming both).
        """
        name = self.path.name
        if sfreq is not None and abs(sfreq - self.sfreq) > 1e-9:
            raise ValueError(f"--sfreq {sfreq:g} Hz: --init {name} runs at {self.sfreq:g} Hz; "
                             "leave --sfreq out")
        if round(window_seconds * self.sfreq) != self.window:
            raise ValueError(f"--window-seconds {window_seconds:g}: --init {name} takes "
                             f"windows of {self.window / self.sfreq:g} s ({self.window} "
                             f"samples); give --window-seconds {self.window / self.sfreq:g}")
        mine = self.filters.at_rate(self.sfreq)
        if filters == FilterSpec():
            return  # the filter options' defaults: the model's chain applies
        if filters is None or filters.at_rate(self.sfreq) != mine:
            asked = filters.describe() if filters is not None else "no filter"
            raise ValueError(f"the filter options ask for {asked}, but --init {name} was "
                             f"trained with {mine.describe()}, which its fine-tuning data go "
                             "through too; leave the filter options out")

    def network(self, class_names: list[str], device: object = "cpu",
                seed: int = 0) -> tuple[object, bool]:
        """A trainable copy of the pretrained network for ``class_names`` (a new head's
        weights drawn with ``seed``, so that a run is reproducible).

        Returns:
            (network in train mode on ``device``, whether the head was kept: False when the
            classes differ and a new head was made).

        Raises:
            models.metadata.ModelFileError: the weights cannot be loaded (tampered, bad
                shapes...).
        """
        import dataclasses

        import torch

        from models.network import ClassifierHead

        net = copy.deepcopy(self._loaded().net)
        kept = self.same_classes(class_names)
        if not kept:
            net.cfg = dataclasses.replace(net.cfg, n_classes=len(class_names))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net.head = ClassifierHead(net.cfg)
        return net.to(torch.device(device) if isinstance(device, str) else device).train(), kept

    def as_is(self, device: object = "cpu") -> tuple[object, object]:
        """The pretrained network as it is (eval mode, on ``device``) and its own
        normalisation (:class:`models.preprocessing.Normalisation`).

        Raises:
            models.metadata.ModelFileError: the weights cannot be loaded.
        """
        import torch

        loaded = self._loaded()
        target = torch.device(device) if isinstance(device, str) else device
        return copy.deepcopy(loaded.net).to(target).eval(), loaded.meta.normalisation
