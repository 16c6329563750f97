"""Can Qt open a window here? The X11 (xcb) platform's system libraries, checked before Qt.

Qt's xcb platform plugin (``PySide6/Qt/plugins/platforms/libqxcb.so``) links against X11
libraries that PySide6's wheel does not bundle and a fresh Linux desktop may lack
(``libxcb-cursor0``, ``libxcb-icccm4``, ``libxcb-keysyms1`` on Debian 12). Without one, Qt
aborts the process (exit 134) and names only the first missing library. This module asks the
dynamic linker (``ldd``) for every library the plugin cannot find, before Qt is loaded, so the
app can name them all with the command that installs them, and run headless instead.

Importing this module loads neither Qt nor PySide6's binaries.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = [
    "debian_package",
    "missing_libraries",
    "missing_platform_libraries",
    "platform_advice",
    "uses_xcb",
    "xcb_plugin",
]

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)

_PACKAGES = {  # sonames whose Debian/Ubuntu package the naming rule below gets wrong
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, or None (not installed, or not Linux)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" \
        / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will take its xcb platform: Linux, ``QT_QPA_PLATFORM`` unset or ``xcb``,
    and an X display (Qt 6 picks xcb on an X display unless told otherwise)."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform:
        return platform == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def missing_libraries(binary: Path) -> list[str]:
    """Sonames that ``binary`` needs, directly or through its own libraries, and that the
    dynamic linker cannot find (``ldd``; empty when ``ldd`` is absent or fails).

    Args:
        binary: a shared library or executable.

    Returns:
        Sonames in the order ``ldd`` lists them, each once, e.g. ``["libxcb-icccm.so.4"]``.
    """
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=20,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(out)))


def missing_platform_libraries() -> list[str]:
    """The xcb plugin's missing libraries when Qt will use xcb here, else an empty list."""
    if not uses_xcb():
        return []
    plugin = xcb_plugin()
    return missing_libraries(plugin) if plugin is not None else []


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``.

    The rule of Debian's library packages (``libxcb-icccm.so.4`` -> ``libxcb-icccm4``; a
    name ending in a digit takes a hyphen: ``libfoo2.so.1`` -> ``libfoo2-1``), except for
    the few in a table.
    """
    if soname in _PACKAGES:
        return _PACKAGES[soname]
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\..*)?", soname)
    if match is None:
        return soname
    name, major = match[1].lower(), match[2]
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def platform_advice(missing: list[str]) -> str:
    """What to tell the user about ``missing`` libraries (one paragraph, with the command)."""
    packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
    return (f"the window cannot open: Qt's X11 (xcb) platform needs {', '.join(missing)}, "
            f"which this system lacks. On Debian/Ubuntu: sudo apt-get install {packages} "
            "(other systems: the packages that provide these libraries)")
