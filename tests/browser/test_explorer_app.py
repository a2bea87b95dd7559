"""The explorer app served by Voila (as ``make explore`` does, on the smoke models): it renders, every control has a
label, and changing the image or a method redraws the maps, with the time of each answer printed."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SERVER_START_SECONDS, _free_port
from test_widgets_respond import label_of, redraw_after
from xai_nb_utils.core.paths import repo_root

pytestmark = pytest.mark.browser

ICON_STYLESHEETS = "cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free"
CONTROL_LABELS = ("model", "test image", "explained class", "method 1", "method 2", "method 3")
APP_SECONDS = 300  # the notebook runs before the page shows: smoke models from the cache, or trained once


@pytest.fixture
def voila(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("XAI_HEADLESS", "MPLBACKEND")}
    env.update(XAI_EXPLORER_PROFILE="smoke", XAI_REPORTS_DIR=str(tmp_path / "reports"),
               XAI_FIGURES_DIR=str(tmp_path / "figures"), OMP_NUM_THREADS="1",
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = (tmp_path / "voila.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "voila"), str(repo_root() / "notebooks" / "explorer.ipynb"),
         "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            assert process.poll() is None, f"voila exited with {process.returncode}; see {log.name}"
            try:  # the port accepts connections: the server is up (the page itself runs the notebook first)
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"voila did not answer within {SERVER_START_SECONDS} s"
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_explorer_answers(voila, browser, screenshots):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    blocked = []

    def local_only(route):
        """Requests to other hosts are answered "failed" (as offline) and listed."""
        if route.request.url.startswith(voila):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    try:
        page.goto(voila, timeout=APP_SECONDS * 1000)
        page.wait_for_selector(".widget-output img", timeout=APP_SECONDS * 1000)
        screenshots.take(page, "explorer_opened")
        assert page.locator(".widget-vbox").count() >= 1
        # the controls' row is the box that holds the "explained class" label (not the first box: a progress bar
        # of a model trained on first open would come first), each control found by its label
        row = page.locator(".widget-hbox").filter(has=page.locator(".widget-label", has_text="explained class")).last
        controls = row.locator(":scope > .jupyter-widgets")
        labels = [label_of(controls.nth(i)) for i in range(controls.count())]
        assert [label["text"] for label in labels] == list(CONTROL_LABELS), labels
        assert all(label["visible"] and not label["truncated"] for label in labels), labels
        assert page.locator(".widget-hprogress:visible").count() == 0, \
            "a finished progress bar stays above the controls"
        output = page.locator(".widget-output").first
        # the line under the controls (a hidden progress bar's text is an HTML widget too)
        status = page.locator(".widget-html", has_text="drawn in").first.element_handle()

        def control(label):
            return controls.nth(CONTROL_LABELS.index(label))

        def slider_right():
            handle = control("test image").locator(".noUi-handle").first
            handle.focus()
            handle.press("ArrowRight")

        def second_method(option):
            return lambda: control("method 1").locator("select").select_option(label=option)

        for what, change in (("next test image", slider_right), ("method 1 = Saliency", second_method("Saliency")),
                             ("method 1 = Grad-CAM++", second_method("Grad-CAM++")),
                             ("method 1 = Opti-CAM (slow)", second_method("Opti-CAM (slow)"))):
            started = time.monotonic()
            assert redraw_after(page, output, change, what), f"{what}: the maps did not change"
            page.wait_for_function("node => node.innerText.startsWith('drawn in')", arg=status,
                                   timeout=60_000)
            print(f"explorer, {what}: answered in {time.monotonic() - started:.1f} s in the browser "
                  f"(kernel: {status.inner_text()})")
            screenshots.take(page, f"explorer_{what.replace(' ', '_')}")
        assert page.get_by_text("Error displaying widget").count() == 0
        # Voila's page template links Font Awesome's stylesheet from a CDN (icons; the app has none): the one
        # request to another host allowed to fail, with its "Failed to load resource" console line
        assert all(ICON_STYLESHEETS in url for url in blocked), f"the app requested other hosts: {blocked}"
        console_errors = [e for e in console_errors if not e.startswith("Failed to load resource")] \
            + [e for e in console_errors if e.startswith("Failed to load resource")][len(blocked):]
        assert not console_errors, f"browser console errors: {console_errors}"
    finally:
        page.close()
