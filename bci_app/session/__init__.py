"""What a live session leaves behind: the CSV log, the statistics and the summary file.

- :mod:`~bci_app.session.files`: new output files, never overwriting.
- :mod:`~bci_app.session.log`: the CSV session log.
- :mod:`~bci_app.session.stats`: counters, latencies and the samples lost in gaps.
- :mod:`~bci_app.session.summary`: the summary JSON.
"""
