"""The live signal path: units, channel map, resampling and causal filters, per chunk.

- :mod:`~bci_app.signal.units`: stream units -> microvolts.
- :mod:`~bci_app.signal.channel_map`: stream channels -> model channels (names, aliases,
  spherical-spline interpolation of a few missing ones).
- :mod:`~bci_app.signal.resample`: streaming polyphase resampling with timestamps.
- :mod:`~bci_app.signal.filters`: causal IIR band-pass and notch with state across chunks.
- :mod:`~bci_app.signal.pipeline`: the four in order, for one stream.
- :mod:`~bci_app.signal.ring`: the engine's sample history.
"""
