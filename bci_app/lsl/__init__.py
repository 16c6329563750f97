"""Lab Streaming Layer: the project's stream conventions, discovery, reading and writing.

- :mod:`~bci_app.lsl.protocol`: stream types, names, units and the trial-marker convention.
- :mod:`~bci_app.lsl.streams`: finding, describing and choosing streams.
- :mod:`~bci_app.lsl.reader`: one thread per EEG stream, blocking pulls.
- :mod:`~bci_app.lsl.markers`: trial markers -> ground truth.
- :mod:`~bci_app.lsl.outlet`: the prediction stream.
"""
