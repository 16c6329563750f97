"""Label maps live in :mod:`models.eeg.label_map` (the live app follows them too); re-exported
here for the recording readers."""

from models.eeg.label_map import LabelMap, parse_label_map

__all__ = ["LabelMap", "parse_label_map"]
