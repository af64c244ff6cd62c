"""Is there a screen? And a virtual one (Xvfb) for tests, benchmarks and headless Qt.

Offscreen rendering needs no X server: VTK's PyPI wheels fall back to EGL or OSMesa
(Mesa's ``libegl1`` / ``libosmesa6``) when ``DISPLAY`` is unset. The Qt window needs an
X server; on a machine without a screen, Xvfb provides one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time

from brain3d.config import ViewerConfig
from brain3d.errors import BackendError

logger = logging.getLogger(__name__)


def has_display() -> bool:
    """True when a window can be shown (an X or Wayland display on Linux; always elsewhere)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def want_headless(config: ViewerConfig, headless: bool | None = None) -> bool:
    """Decide between the live window and offscreen rendering.

    Parameters
    ----------
    config : ViewerConfig
        ``headless``: True, False or ``"auto"`` (offscreen when there is no display).
    headless : bool, optional
        A command-line ``--headless`` (True wins over the configuration).

    Returns
    -------
    bool
        True for offscreen rendering.
    """
    if headless:
        return True
    if config.headless == "auto":
        return not has_display()
    return bool(config.headless)


#: Shared libraries Qt's xcb platform plugin loads -> the Debian package providing each.
QT_XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0", "xcb-xfixes": "libxcb-xfixes0", "xcb-xkb": "libxcb-xkb1",
    "xcb-sync": "libxcb-sync1", "xkbcommon-x11": "libxkbcommon-x11-0", "X11-xcb": "libx11-xcb1",
    "GL": "libgl1", "EGL": "libegl1", "fontconfig": "libfontconfig1", "dbus-1": "libdbus-1-3",
}


def check_qt_display() -> None:
    """Fail early, with the fix, where Qt would abort the whole process.

    On Linux with X (``QT_QPA_PLATFORM`` unset or ``xcb``), Qt's xcb plugin aborts when
    one of its libraries is missing or the X server cannot be reached; an exception
    here lets the caller fall back to offscreen rendering instead.

    Raises
    ------
    BackendError
        Missing libraries (names the Debian packages) or an unreachable ``DISPLAY``.
    """
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return  # Qt picks its Wayland plugin
        raise BackendError("no display for the live window (DISPLAY is unset); use --headless or run under Xvfb")
    missing = sorted({pkg for lib, pkg in QT_XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None})
    if missing:
        raise BackendError(
            f"the live window needs Qt's xcb libraries; missing: {' '.join(missing)}. Run `bash scripts/setup.sh` "
            f"or `apt-get install {' '.join(missing)}`, or use --headless"
        )
    try:
        xlib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        xlib.XOpenDisplay.restype = ctypes.c_void_p
        xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        handle = xlib.XOpenDisplay(None)
    except OSError as exc:
        raise BackendError(f"cannot load libX11 ({exc}); apt-get install libx11-6, or use --headless") from exc
    if not handle:
        raise BackendError(
            f"cannot connect to the X display {os.environ.get('DISPLAY')!r}; start Xvfb or fix DISPLAY, or use --headless"
        )
    xlib.XCloseDisplay(handle)


class VirtualDisplay:
    """An Xvfb server on a free display number, for as long as the object is open.

    ``Xvfb -displayfd`` picks the number itself, so parallel runs never collide.
    ``start()`` sets ``DISPLAY``; ``stop()`` restores the previous value.

    Parameters
    ----------
    size : tuple of int
        Screen width, height in pixels.
    """

    def __init__(self, size: tuple[int, int] = (1600, 1200)) -> None:
        self.size = size
        self.display: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._previous: str | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the Xvfb server (None when not running or handed to the watcher)."""
        return self._process.pid if self._process is not None else None

    @staticmethod
    def available() -> bool:
        """True when the ``Xvfb`` program is installed."""
        return shutil.which("Xvfb") is not None

    def start(self, timeout_s: float = 10.0) -> str:
        """Start Xvfb and point ``DISPLAY`` at it; returns the display (``":N"``)."""
        if not self.available():
            raise BackendError(
                "Xvfb is not installed; run `bash scripts/setup.sh` (installs xvfb and the Qt xcb "
                "libraries) or `apt-get install xvfb`"
            )
        read_fd, write_fd = os.pipe()
        width, height = self.size
        self._process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + timeout_s
        with os.fdopen(read_fd, "rb") as pipe:
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                chunk = pipe.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            self.stop()
            raise BackendError("Xvfb did not start (no display number reported); is the X server installed?")
        self.display = f":{int(number)}"
        self._previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.display
        logger.info("Xvfb started on display %s", self.display)
        return self.display

    def stop_after_exit(self) -> None:
        """Leave Xvfb running until this process has exited, then stop it.

        Qt aborts the process when its X server goes away under it, so a process that
        created a ``QApplication`` must not stop Xvfb itself; a small watcher does it.
        """
        if self._process is None:
            return
        watcher = f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 0.5; done; kill {self._process.pid}"
        subprocess.Popen(["sh", "-c", watcher], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._process = None

    def stop(self) -> None:
        """Stop Xvfb (idempotent) and restore ``DISPLAY``."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        if self.display is not None:
            if self._previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._previous
            self.display = None

    def __enter__(self) -> VirtualDisplay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
