"""EEG knowledge that the trainer and the live app share (numpy, scipy and MNE; never torch).

- :mod:`models.eeg.seed_layout`: SEED's 62-channel order, rate and class names.
- :mod:`models.eeg.labels`: channel-label matching (``"EEG Fp1-REF"`` -> ``"FP1"``).
- :mod:`models.eeg.regions`: the frontal and temporal regions and the frontal-asymmetry pair.
- :mod:`models.eeg.bands`: the EEG frequency bands.
- :mod:`models.eeg.markers`: how trials are announced (``"trial N start <label>"``) and how
  EEG and marker streams are typed and named (LSL live, XDF recordings).
- :mod:`models.eeg.montage`: electrode positions (MNE's 10-05 template plus CB1/CB2), sphere
  fits, topomap set-up and region outlines.

Importing this package loads nothing heavy; MNE is imported by the montage functions that
need it.
"""
