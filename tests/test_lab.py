"""JupyterLab in a real browser: `make lab`'s server, 00_start_here.ipynb run top to bottom in
headless Chromium (the `ci` profile), the setup line seen, no cell showing an error; then notebook
01, where moving an explorer's slider must redraw its picture (the Python callback, live).

Marked `browser`: it runs in CI's extra pass (`make browser`), not in `make test`.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest

from tools import browser
from utils.config import ROOT

NOTEBOOK = "notebooks/00_start_here.ipynb"  # `make lab` serves notebooks/: its URL path drops it
EXPLORER_NOTEBOOK = "notebooks/01_convolution_by_hand.ipynb"  # its explorer, moved by a slider
NOTEBOOKS = (NOTEBOOK, EXPLORER_NOTEBOOK)

# JupyterLab settings for the test's own server: no autosave (the stored outputs must stay the
# `cpu` ones), and every cell in the page (no windowing), so that every output can be read.
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}

# The kernel of the notebook shown is idle.
IDLE = (
    "const s = document.querySelector("
    "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
    "return s && s.getAttribute('data-status') === 'idle';"
)
CELLS = """
return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell'))
  .map(cell => ({
    prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
    collapsed: !!cell.querySelector('.jp-InputPlaceholder'),  // a solution: its input hidden
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o => ({
      mime: o.getAttribute('data-mime-type') || '',
      text: o.textContent,
    })),
  }));
"""

# Dialogs and notifications JupyterLab shows: what may have stood in a click's way.
SHOWN = """
return Array.from(document.querySelectorAll('.jp-Dialog-content, .Toastify__toast-body'))
  .map(e => e.textContent.trim().slice(0, 200));
"""


def _poll(condition, timeout):
    """Poll `condition` every half second for up to `timeout` seconds; its first truthy value,
    or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    return None


def _wait(condition, timeout, what):
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    value = _poll(condition, timeout)
    if not value:
        pytest.fail(f"timed out after {timeout} s waiting for {what}")
    return value


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _click_menu(driver, menu, item):
    """Open the main menu `menu` and click its entry `item`; False when the entry was disabled."""
    from selenium.webdriver.common.by import By

    driver.find_element(
        By.XPATH, f"//li[contains(@class,'lm-MenuBar-item')][.//div[text()='{menu}']]"
    ).click()
    entry = f"//li[contains(@class,'lm-Menu-item')][.//div[text()='{item}']]"
    _wait(lambda: driver.find_elements(By.XPATH, entry), 10, f"the menu entry {item!r}")
    element = driver.find_element(By.XPATH, entry)
    enabled = "lm-mod-disabled" not in (element.get_attribute("class") or "")
    element.click()
    return enabled


def _click_until(driver, menu, item, condition, what, tries=10, wait=15):
    """Click `menu` > `item` until `condition` holds (JupyterLab may ignore a click while the
    notebook or its kernel is still connecting); fail after `tries` clicks."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    disabled = 0
    for _ in range(tries):
        disabled += not _click_menu(driver, menu, item)
        if _poll(condition, wait):
            return
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()  # close a menu left open
    pytest.fail(f"{what}: not after {tries} clicks on {menu} > {item} ({disabled} disabled)")


def _is_error(output):
    """An output that reports an exception (JupyterLab renders tracebacks as stderr text)."""
    return "Traceback (most recent call last)" in output["text"] or (
        output["mime"] == "application/vnd.jupyter.stderr"
        and any(line.rstrip().endswith("Error") for line in output["text"].splitlines()[:2])
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab`'s server (the `ci` profile, an empty cache, settings of its own) and a headless
    Chromium: yields (driver, base URL, token); on a failure, prints what was on the page."""
    reason = browser.missing()
    if reason:
        pytest.fail(reason)
    tmp_path = tmp_path_factory.mktemp("lab")
    for name, values in SETTINGS.items():
        path = tmp_path / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    stored = {path: hashlib.sha256((ROOT / path).read_bytes()).hexdigest() for path in NOTEBOOKS}
    port, token = browser.free_port(), secrets.token_hex(16)
    environment = {
        **os.environ,
        "COURSE_PROFILE": "ci",
        "COURSE_CACHE": str(tmp_path / "cache"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),  # the server's files, not the user's
    }
    lab_args = (
        f"LAB_ARGS=--no-browser --ServerApp.ip=127.0.0.1 --port={port} "
        f"--IdentityProvider.token={token}"
    )
    log = (tmp_path / "lab.log").open("w")
    # Its own session (process group): stopped below by its own process id, children included.
    server = subprocess.Popen(
        ["make", "lab", lab_args],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: _answers(f"{base}/api/status?token={token}"), 120, "the server")
        driver = browser.chromium(1400, 1000)
        yield driver, base, token
    finally:
        # Shown with a failing test's report (pytest prints captured output only then).
        log.flush()
        print("server log:", *(tmp_path / "lab.log").read_text().splitlines()[-30:], sep="\n")
        if driver is not None:
            driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    assert server.poll() is not None
    # Nothing was saved over the stored outputs.
    for path, digest in stored.items():
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path


@contextlib.contextmanager
def _reported(driver):
    """On a failure inside: a screenshot in build/, and the dialogs and notifications on the page
    (what may have stood in a click's way), printed for the report."""
    try:
        yield
    except BaseException:
        (ROOT / "build").mkdir(exist_ok=True)
        driver.save_screenshot(str(ROOT / "build" / "lab-failure.png"))
        print("on the page:", driver.execute_script(SHOWN))
        raise


def _run_all(driver, base, token, notebook):
    """Open `notebook` in JupyterLab, clear its stored outputs, run every cell, wait for the last;
    return its cells (prompts and outputs, as CELLS reads them)."""
    # `reset`: a fresh workspace holding this notebook alone, so that the menus act on it (and not
    # on a notebook an earlier test left open).
    driver.get(f"{base}/lab/tree/{notebook.removeprefix('notebooks/')}?reset&token={token}")
    _wait(lambda: driver.execute_script(CELLS), 120, "the notebook's cells")
    _wait(lambda: driver.execute_script(IDLE), 120, "an idle kernel")
    stored = lambda: any(c["outputs"] for c in driver.execute_script(CELLS))  # noqa: E731
    _wait(stored, 60, "the stored outputs to be shown")  # (before they are cleared)
    # The stored outputs (and execution counts) first go, so that what is read is this run's.
    _click_until(
        driver,
        "Edit",
        "Clear Outputs of All Cells",
        lambda: not any(c["outputs"] for c in driver.execute_script(CELLS)),
        "the stored outputs were not cleared",
    )
    _click_until(
        driver,
        "Run",
        "Run All Cells",
        lambda: any(c["prompt"].strip() != "[ ]:" for c in driver.execute_script(CELLS)),
        "the cells did not start running",
    )

    # Every cell numbered (a collapsed input shows no number: its cell counts once the kernel is
    # idle again, after the last cell).
    def numbered(cell):
        return cell["collapsed"] or re.fullmatch(r"\[\d+\]:", cell["prompt"].strip())

    def executed():
        cells = driver.execute_script(CELLS)
        return all(numbered(c) for c in cells) and driver.execute_script(IDLE)

    finished = _poll(executed, 300)
    cells = driver.execute_script(CELLS)
    errors = [o["text"][:300] for cell in cells for o in cell["outputs"] if _is_error(o)]
    assert not errors, errors
    if not finished:
        waiting = [(i, c["prompt"]) for i, c in enumerate(cells) if not numbered(c)]
        pytest.fail(f"timed out after 300 s waiting for every cell to run; not run: {waiting[:10]}")
    return cells


@pytest.mark.browser
def test_start_notebook_runs_in_jupyterlab_in_a_real_browser(lab):
    driver, base, token = lab
    with _reported(driver):
        cells = _run_all(driver, base, token, NOTEBOOK)
    outputs = [o for cell in cells for o in cell["outputs"]]
    assert len(cells) >= 5
    assert any("Course ready | profile ci" in o["text"] for o in outputs), "no setup line"
    (ROOT / "build").mkdir(exist_ok=True)
    driver.save_screenshot(str(ROOT / "build" / "lab-00_start_here.png"))


# The live explorer of notebook 01: its sliders (by label) and the picture it draws.
EXPLORER = """
const image = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-image');
if (!image) return null;
const box = image.closest('.widget-vbox');
const sliders = Array.from(box.querySelectorAll('.widget-slider')).map(s => ({
  label: (s.querySelector('.widget-label') || {}).textContent || '',
  value: (s.querySelector('.widget-readout') || {}).textContent || '',
}));
return {src: image.getAttribute('src') || '', loaded: image.complete && image.naturalWidth > 0,
        sliders: sliders};
"""


@pytest.mark.browser
def test_moving_an_explorer_slider_in_jupyterlab_redraws_the_picture(lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver, base, token = lab
    with _reported(driver):
        _run_all(driver, base, token, EXPLORER_NOTEBOOK)
        first = _wait(lambda: driver.execute_script(EXPLORER), 60, "the explorer's picture")
        assert first["loaded"], first
        labels = [slider["label"] for slider in first["sliders"]]
        assert labels == ["input size", "kernel size", "stride", "dilation"], labels
        kernel = dict((s["label"], s["value"]) for s in first["sliders"])["kernel size"]
        handle = driver.find_elements(
            By.XPATH,
            "//div[contains(@class,'widget-slider')][.//*[contains(@class,'widget-label')]"
            "[text()='kernel size']]//*[contains(@class,'noUi-handle')]",
        )[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
        handle.click()
        handle.send_keys(Keys.ARROW_RIGHT)  # as a learner would, with the keyboard
        moved = lambda: (  # noqa: E731 (a condition, polled)
            (now := driver.execute_script(EXPLORER))
            and now["src"] != first["src"]
            and now["loaded"]
            and now
        )
        now = _wait(moved, 60, "the picture to be redrawn after the slider moved")
        values = dict((s["label"], s["value"]) for s in now["sliders"])
        assert int(values["kernel size"]) == int(kernel) + 1, (kernel, values)
        (ROOT / "build").mkdir(exist_ok=True)
        driver.save_screenshot(str(ROOT / "build" / "lab-01_explorer.png"))


def test_an_exception_in_a_cell_counts_as_an_error():
    traceback = "---------------------------------------------------------------------------\n"
    traceback += "ValueError                                Traceback (most recent call last)\n"
    assert _is_error({"mime": "application/vnd.jupyter.stderr", "text": traceback})
    assert _is_error({"mime": "application/vnd.jupyter.stderr", "text": "ZeroDivisionError\n"})
    assert not _is_error({"mime": "application/vnd.jupyter.stderr", "text": "I0000 oneDNN on\n"})
    assert not _is_error({"mime": "text/plain", "text": "Course ready | profile ci"})
