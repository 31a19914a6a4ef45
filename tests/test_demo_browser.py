"""End to end, as a student uses it: JupyterLab on loopback, notebook 07 in headless Chromium.

Starts JupyterLab (127.0.0.1, a free port, a random token) on a copy of notebook 07, opens it in
Debian's Chromium (``/usr/bin/chromium``) driven by Playwright (no browser download), runs all
cells, types a caption into the demo, presses Generate and checks that a new image appears and
that bad input shows a message. A screenshot is saved (its path is printed) to
``outputs/browser/07_cascade_demo.png``.

The notebook runs on a tiny untrained cascade saved into a temporary ``TEXTGAN_OUTPUT_DIR``
(``Cascade.load_default`` finds it first), so the test needs no training and no pretrained
weights and does not touch the repository's ``outputs/cascade``.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from textgan_lib import config

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "07_cascade_demo.ipynb"
CHROMIUM = os.environ.get("TEXTGAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
#: Seconds: JupyterLab start, all cells of the notebook, one Generate. Running all cells takes
#: about 70 s on 2 CPU cores with warm caches; on a fresh machine the first run also builds the
#: emoji image cache and embeds the training captions, hence the margin.
START_TIMEOUT, RUN_ALL_TIMEOUT, GENERATE_TIMEOUT = 90, 480, 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of notebook 07; yields ``(url, token)``; always stopped."""
    config.import_tensorflow()   # quietly, before the models import it
    from textgan_lib.cascade import Cascade
    from textgan_lib.models import build_generator, build_superres

    root = tmp_path_factory.mktemp("lab")
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:          # no stored outputs or counts: "ran" means ran now
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK.name).write_text(json.dumps(notebook), encoding="utf-8")
    out_dir = root / "outputs"
    Cascade(build_generator(384, base_filters=8, text_features=16),
            build_superres(filters=8, num_blocks=1)).save(out_dir / "cascade")
    home = tmp_path_factory.mktemp("jupyter")   # config, runtime files, settings: not in ~
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)                     # no "get notified about news?" pop-up
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), uuid.uuid4().hex
    env = dict(os.environ, TEXTGAN_OUTPUT_DIR=str(out_dir), TEXTGAN_MODE="smoke",
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "run"),
               JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    log = open(root / "jupyterlab.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.allow_remote_access=False", "--allow-root"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" +
                                (root / "jupyterlab.log").read_text()[-3000:])
                time.sleep(1)
        yield url, token
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen) -> None:
    """Stop JupyterLab (its own process group): SIGTERM, then SIGKILL. On SIGTERM the server
    shuts its kernels down; a kernel left behind by a SIGKILL exits when its parent is gone."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# JavaScript run in the page (JupyterLab's app is exposed as window.jupyterapp).
_NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const c of cells) for (const o of c.model.outputs.toJSON())
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  return {status: kernel ? kernel.status : 'none', ready: panel.sessionContext.isReady,
          pending: cells.filter(c => c.model.executionCount === null).length,
          total: cells.length, errors};
}"""


# The pixels of an <img> as a data URL (the widget's blob URL is same-origin: no tainting).
_PIXELS = """img => { const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL(); }"""


def wait_for(page, predicate, timeout: float, what: str, poll: float = 1.0):
    """Poll ``predicate()`` until it returns a truthy value, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(poll * 1000)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_demo_in_jupyterlab_draws_a_new_image(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run `bash .ci/install` (apt)"
    url, token = lab
    shots = config.output_dir() / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(   # a fresh --user-data-dir
            str(tmp_path / "chromium"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 1000})
        try:
            page = browser.new_page()
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?token={token}", timeout=60_000)

            def kernel_idle():
                state = page.evaluate(_NOTEBOOK_STATE)
                return state if state and state["ready"] and state["status"] == "idle" else None

            wait_for(page, kernel_idle, 120, "the notebook to open with an idle kernel")
            # start "run all" without awaiting its promise (it resolves only when every cell
            # has run), so that our own timeout applies and a failing cell is seen at once
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            def all_run_or_error():
                state = page.evaluate(_NOTEBOOK_STATE)
                if state and state["errors"]:
                    return state
                idle = state and state["ready"] and state["status"] == "idle"
                return state if idle and state["pending"] == 0 else None

            state = wait_for(page, all_run_or_error, RUN_ALL_TIMEOUT, "all cells to run")
            assert state["errors"] == [], f"cells raised: {state['errors']}"
            print(f"\n[browser] ran {state['total']} code cells in "
                  f"{time.monotonic() - start:.1f} s")

            high = page.locator("img.textgan-high").first
            high.wait_for(state="visible", timeout=30_000)
            before = wait_for(page, lambda: high.get_attribute("src"), 30, "the first image")
            high.scroll_into_view_if_needed()
            pixels_before = high.evaluate(_PIXELS)
            caption = page.locator(".textgan-caption input").first
            caption.fill("police car")
            page.wait_for_timeout(500)     # the Text widget syncs on input; let it arrive
            page.locator("button.textgan-generate").first.click()

            def new_image():
                src = high.get_attribute("src")
                return src if src and src != before else None

            after = wait_for(page, new_image, GENERATE_TIMEOUT, "a new image after Generate")
            status = page.locator(".textgan-status").first
            wait_for(page, lambda: "Done in" in status.inner_text(), 30, "the status line")
            assert page.locator(".widget-html b", has_text="police car").count() >= 1
            natural = high.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert natural == [128, 128], natural
            assert high.evaluate(_PIXELS) != pixels_before, "the image's pixels did not change"
            shot = shots / "07_cascade_demo.png"
            page.locator(".textgan-caption").first.evaluate(
                "el => el.closest('.jp-Cell').scrollIntoView()")
            page.screenshot(path=str(shot))
            print(f"[browser] screenshot: {shot}")

            caption.fill("红色的苹果")        # bad input: a message in the widget, same image
            page.wait_for_timeout(500)
            page.locator("button.textgan-generate").first.click()
            wait_for(page, lambda: "English" in status.inner_text(), GENERATE_TIMEOUT,
                     "the message for a Chinese caption")
            assert high.get_attribute("src") == after
            assert "Traceback" not in status.inner_text()
        finally:
            browser.close()
    print(f"[browser] done in {time.monotonic() - start:.1f} s")
