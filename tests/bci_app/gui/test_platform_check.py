"""The window's platform check: every missing X11 library named, with its package, and the
app running headless instead of Qt aborting (bci_app.gui.platform_check)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bci_app import cli
from bci_app.gui import platform_check
from bci_app.gui.platform_check import (
    debian_package,
    missing_libraries,
    platform_advice,
    uses_xcb,
    xcb_plugin,
)


def test_debian_packages_of_the_libraries_qt_xcb_needs() -> None:
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert debian_package("libxcb-render-util.so.0") == "libxcb-render-util0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libfoo2.so.1.2.3") == "libfoo2-1"  # a digit before the version


def test_xcb_is_checked_only_where_qt_will_take_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    assert uses_xcb({"DISPLAY": ":0"})
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"})
    assert not uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})
    assert not uses_xcb({})
    monkeypatch.setattr(platform_check.sys, "platform", "darwin")
    assert not uses_xcb({"DISPLAY": ":0"})


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None,
                    reason="needs gcc and ldd")
def test_every_library_the_linker_cannot_find_is_named(tmp_path: Path) -> None:
    """A library linked against two others that are then removed, the second through a third
    library (as libqxcb.so reaches libxcb-icccm through libQt6XcbQpa): both named, once."""
    def build(name: str, source: str, *links: str) -> None:
        (tmp_path / f"{name}.c").write_text(source)
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / name),
                        f"-Wl,-soname,{name}", str(tmp_path / f"{name}.c"), f"-L{tmp_path}",
                        *[f"-l:{lib}" for lib in links], f"-Wl,-rpath,{tmp_path}"], check=True)

    build("libgone.so.4", "int gone(void) { return 4; }\n")
    build("libalso.so.1", "int also(void) { return 1; }\n")
    build("libmid.so.2", "int also(void); int mid(void) { return also(); }\n", "libalso.so.1")
    build("libplugin.so", "int gone(void); int mid(void); int p(void) { return gone() + mid(); }\n",
          "libgone.so.4", "libmid.so.2")
    assert missing_libraries(tmp_path / "libplugin.so") == []
    (tmp_path / "libgone.so.4").unlink()
    (tmp_path / "libalso.so.1").unlink()
    assert missing_libraries(tmp_path / "libplugin.so") == ["libgone.so.4", "libalso.so.1"]
    advice = platform_advice(["libgone.so.4", "libalso.so.1"])
    assert "libgone.so.4, libalso.so.1" in advice
    assert "sudo apt-get install libgone4 libalso1" in advice


def test_the_plugin_is_found_and_its_check_agrees_with_the_linker() -> None:
    plugin = xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    assert set(missing_libraries(plugin)) == {ln.split()[0] for ln in ldd.splitlines()
                                              if "not found" in ln}


def test_missing_libraries_run_the_app_headless_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tiny_model: Path, unique_name: str) -> None:
    """The window is asked for on an X display that lacks two libraries: instead of Qt's
    abort (exit 134) the app says which, how to install them, and runs headless (here it
    then finds no stream: exit 4)."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(platform_check, "missing_libraries",
                        lambda _plugin: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    rc = cli.main(["--model", str(tiny_model), "--stream", unique_name,
                   "--resolve-timeout", "0.5", "--outlet-name", "off"])
    err = capsys.readouterr().err
    assert rc == 4, err
    assert "xcb" in err and "libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in err
    assert "running headless meanwhile" in err
