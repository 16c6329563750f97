"""Causal signal processing for the live path: IIR filters, resampling, band power.

Live chunks follow the mne-lsl layout ``(n_samples, n_channels)``; analysis windows for
band power follow the model layout ``(n_channels, n_samples)``. Amplitudes are microvolts.
"""

from .bandpower import (
    BAND_NAMES,
    BANDS,
    band_log_power,
    frontal_alpha_asymmetry,
    region_band_power,
)
from .filters import CausalFilter, make_live_filter, warmup_seconds
from .resample import StreamingResampler

__all__ = [
    "BANDS",
    "BAND_NAMES",
    "CausalFilter",
    "StreamingResampler",
    "band_log_power",
    "frontal_alpha_asymmetry",
    "make_live_filter",
    "region_band_power",
    "warmup_seconds",
]
