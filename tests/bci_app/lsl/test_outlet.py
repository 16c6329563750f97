"""The prediction outlet, checked on the wire with pylsl (an independent LSL client)."""

from __future__ import annotations

import time

import numpy as np
import pylsl
import pytest

from bci_app.lsl.outlet import PredictionOutlet

CLASSES = ("negative", "neutral", "positive")


def _labels(info: pylsl.StreamInfo, field: str) -> list[str]:
    values, channel = [], info.desc().child("channels").child("channel")
    while not channel.empty():
        values.append(channel.child_value(field))
        channel = channel.next_sibling()
    return values


@pytest.mark.lsl
def test_prediction_outlet_on_the_wire(unique_name: str) -> None:
    outlet = PredictionOutlet(unique_name, CLASSES, source_id=f"{unique_name}-sid")
    inlet = None
    try:
        infos = pylsl.resolve_byprop("name", unique_name, minimum=1, timeout=5.0)
        assert len(infos) == 1
        inlet = pylsl.StreamInlet(infos[0], recover=False)
        inlet.open_stream(timeout=5.0)
        info = inlet.info(timeout=5.0)
        assert (info.type(), info.channel_count(), info.nominal_srate()) == ("MentalState", 3, 0)
        assert info.channel_format() == pylsl.cf_float32
        assert info.source_id() == f"{unique_name}-sid"
        assert _labels(info, "label") == list(CLASSES)
        assert set(_labels(info, "unit")) == set(_labels(info, "type")) == {"probability"}
        deadline = time.monotonic() + 5.0
        while not outlet.has_consumers and time.monotonic() < deadline:
            time.sleep(0.02)
        now = pylsl.local_clock()
        sent = [(np.array([0.1, 0.2, 0.7]), now - 0.5), ([0.6, 0.3, 0.1], now - 0.25)]
        for probs, t in sent:
            outlet.push(probs, t)
        for probs, t in sent:
            sample, stamp = inlet.pull_sample(timeout=5.0)
            np.testing.assert_allclose(sample, probs, rtol=1e-6)
            assert stamp == pytest.approx(t, abs=1e-6)
        with pytest.raises(ValueError, match="expected 3 probabilities"):
            outlet.push([0.5, 0.5], now)
    finally:
        if inlet is not None:
            inlet.close_stream()
            del inlet
        outlet.close()
    outlet.close()  # idempotent
    with pytest.raises(RuntimeError, match="is closed"):
        outlet.push([0.2, 0.3, 0.5], 0.0)
    assert pylsl.resolve_byprop("name", unique_name, timeout=0.5) == []


# ----------------------------------------------------------------------------- session log
