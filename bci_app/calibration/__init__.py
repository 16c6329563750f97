"""Calibration inside a live session: keep the participant's raw data and labelled trials,
train a model for them with the offline trainer in a separate process, and swap it into the
running engine (:class:`bci_app.calibration.controller.Calibrator`)."""
