"""Replay a recording as live LSL streams, so a session can be rehearsed without an amplifier.

- :mod:`~bci_app.replay.recording`: a SEED session or any file MNE reads -> an MNE Raw in volts
  plus its markers (trial boundaries or annotations).
- :mod:`~bci_app.replay.player`: :class:`Replay`, the EEG and marker outlets in real time.
- :mod:`~bci_app.replay.cli`: ``bci-replay`` (also ``python -m bci_app.replay``).
"""
