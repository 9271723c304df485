"""Headless Chromium for the tests that look at a page as a person would.

load_dom(url) starts Debian's `chromium` (scripts/deps.sh installs it) in
headless mode with a fresh profile, lets the page run for a budget of
*virtual* time (Chromium fast-forwards timers while no fetch is pending,
so a page that polls every second polls five times in a 5 s budget,
however loaded the machine), and returns the DOM as it then is, as HTML
text. The process is killed and reaped if it overruns `timeout` seconds
of real time; the profile directory is removed.
"""

import os
import shutil
import subprocess
import tempfile

LOAD_TIMEOUT = 120  # real seconds for one page load, on a loaded machine


class BrowserError(AssertionError):
    pass


def chromium():
    """The Chromium executable; a missing one fails the test (deps.sh installs it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise BrowserError("chromium is not installed (scripts/deps.sh installs it)")
    return path


def load_dom(url, virtual_time_ms=5000, screenshot=None, window_size=(1280, 900), timeout=LOAD_TIMEOUT):
    """Loads `url` and returns the DOM after `virtual_time_ms` of the page's
    time. With `screenshot` (a .png path) the page is also saved as seen."""
    profile = tempfile.mkdtemp(prefix="tiny-chromium-")
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--user-data-dir=" + profile, "--window-size=%d,%d" % window_size,
            "--virtual-time-budget=%d" % virtual_time_ms, "--dump-dom"]
    if screenshot:
        args.append("--screenshot=" + os.path.abspath(screenshot))
    args.append(url)
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Chromium's helpers (zygote, renderer, GPU) are in its session: end them all.
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        raise BrowserError("chromium did not finish %s within %ss; stderr tail:\n%s"
                           % (url, timeout, err.decode(errors="replace")[-3000:]))
    finally:
        _end_session(proc)
        shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        raise BrowserError("chromium exit %s for %s; stderr tail:\n%s"
                           % (proc.returncode, url, err.decode(errors="replace")[-3000:]))
    dom = out.decode(errors="replace")
    if "<html" not in dom.lower():
        raise BrowserError("chromium printed no DOM for %s; stderr tail:\n%s" % (url, err.decode(errors="replace")[-3000:]))
    return dom


def _end_session(proc):
    """Kills what is left of Chromium's process group (helpers that outlive
    the browser) and reaps the browser."""
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.wait()
