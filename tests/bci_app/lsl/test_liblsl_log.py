"""liblsl's own log lines, parsed and levelled (bci_app.lsl.liblsl_log)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bci_app.lsl.liblsl_log import LiblslLog, classify, config_content

BROKE_OFF = ("2026-12-03 05:51:14.263 (   0.560s) [R_pred      ]  data_receiver.cpp:360   "
             "ERR| Stream transmission broke off (Connection reset); re-connecting...")
CONFIG = ("2026-12-03 05:51:12.714 (   0.529s) [        2EBCCB80]  api_config.cpp:124   "
          "INFO| Configuration loaded from /work/main/tests/lsl_api.cfg")


def test_levels_follow_liblsls_and_a_peer_going_away_depends_on_the_stop() -> None:
    assert classify(CONFIG) == (logging.INFO,
                                "Configuration loaded from /work/main/tests/lsl_api.cfg")
    assert classify(BROKE_OFF)[0] == logging.WARNING  # while the session runs
    assert classify(BROKE_OFF, stopping=True)[0] == logging.DEBUG  # an orderly stop's doing
    bind = BROKE_OFF.replace("Stream transmission broke off (Connection reset); "
                             "re-connecting...", "Could not bind to port 16572")
    assert classify(bind, stopping=True)[0] == logging.ERROR  # a real error stays one
    verbose = CONFIG.replace("INFO|", "   3|")
    assert classify(verbose)[0] == logging.DEBUG
    assert classify("") is None and classify("date       time ( uptime  ) [ thread name/id ]") \
        is None


def test_the_users_configuration_is_kept_and_only_its_log_redirected(tmp_path: Path) -> None:
    user = "[lab]\nKnownPeers = {localhost}\n[log]\nlevel = 2\n[ports]\nIPv6 = disable\n"
    text = config_content(user, tmp_path / "l.log")
    assert "KnownPeers = {localhost}" in text and "IPv6 = disable" in text
    assert text.count("[log]") == 2 and text.rstrip().endswith(f"file = {tmp_path / 'l.log'}")
    assert "level = 2" in text.split("[log]")[-1]  # the user's level, in the new section
    assert config_content("[log]\nfile = /var/log/lsl.log\n", tmp_path / "l.log") is None
    assert "level = 0" in config_content("", tmp_path / "l.log")  # liblsl's default, INFO


def test_lines_written_to_the_file_reach_the_logger(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "liblsl.log"
    path.write_text("")
    router = LiblslLog(path, logger=logging.getLogger("liblsl.test"))
    with caplog.at_level(logging.DEBUG, logger="liblsl.test"), path.open("a") as f:
        f.write(CONFIG + "\n" + BROKE_OFF[:60])  # the second line is still being written
        f.flush()
        router.poll()
        assert [r.getMessage() for r in caplog.records] == [
            "Configuration loaded from /work/main/tests/lsl_api.cfg"]
        f.write(BROKE_OFF[60:] + "\n")
        f.flush()
        router.mark_stopping()
        router.close()
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.DEBUG]
    assert not path.exists()  # close removes it
