"""Browser tests: headless Chromium (Debian's ``chromium``) driven by Playwright, and a JupyterLab server.

Every test module here sets ``pytestmark = pytest.mark.browser``; run them with ``make test-browser`` (``make test``
leaves them out: ``-m "not browser"``). Playwright's own browser
download is not used: ``CHROMIUM`` (default ``/usr/bin/chromium``) is the browser.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SERVER_START_SECONDS = 120


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium (make test-browser)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test lists the screenshots it took."""
    report = (yield).get_result()
    shots = getattr(item, "screenshot_paths", [])
    if report.failed and shots:
        report.sections.append(("screenshots", "\n".join(str(path) for path in shots)))


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium; a missing browser or Playwright is an error (these tests must not pass vacuously)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Screenshots:
    """Screenshots saved in the test's temporary folder; a failing test prints their paths."""

    def __init__(self, folder: Path, node):
        self.folder = folder
        self.node = node
        node.screenshot_paths = []

    def take(self, target, name: str) -> Path:
        path = self.folder / f"{len(self.node.screenshot_paths):02d}_{name}.png"
        target.screenshot(path=str(path))
        self.node.screenshot_paths.append(path)
        return path


@pytest.fixture
def screenshots(request, tmp_path):
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return Screenshots(folder, request.node)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LabServer:
    """A JupyterLab server on 127.0.0.1 with a random token, serving ``root``."""

    def __init__(self, root: Path, log: Path):
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if key not in ("XAI_HEADLESS", "MPLBACKEND")}
        env.update(XAI_REPORTS_DIR=str(root / "_reports"), XAI_FIGURES_DIR=str(root / "_figures"),
                   OMP_NUM_THREADS="1", JUPYTER_RUNTIME_DIR=str(root / "_runtime"))
        # every cell in the DOM (no virtual scrolling), so that a cell's index finds its node; no news prompt
        for plugin, setting in ((("notebook-extension", "tracker"), '{"windowingMode": "none"}'),
                                (("apputils-extension", "notification"), '{"fetchNews": "false"}')):
            settings = root.joinpath("_settings", "@jupyterlab", plugin[0], f"{plugin[1]}.jupyterlab-settings")
            settings.parent.mkdir(parents=True)
            settings.write_text(setting)
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             "--allow-root", "--LabApp.extension_manager=readonly",
             "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={root / '_workspaces'}",
             f"--LabApp.user_settings_dir={root / '_settings'}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_SECONDS} s; see {self.log.name}")

    def url(self, notebook: str) -> str:
        """The notebook alone in a fresh workspace of its own (no tab of an earlier test restored)."""
        workspace = Path(notebook).stem
        return f"{self.base}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab from this environment (its ``xai-workbook`` kernel), stopped at the end, also after a failure."""
    assert shutil.which("jupyter", path=str(Path(sys.executable).parent)), "jupyter is not installed in this env"
    root = tmp_path_factory.mktemp("lab")
    server = LabServer(root, root / "_jupyter-lab.log")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()
