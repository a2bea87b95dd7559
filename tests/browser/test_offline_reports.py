"""HTML reports render their equations and figures with the network cut: opened from disk in headless Chromium,
every request to anything but a local file is refused."""
import sys
from pathlib import Path

import nbformat
import pytest

from xai_nb_utils import report
from xai_nb_utils.core.paths import repo_root

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_reports_offline import notebook_with_equation_and_figure  # noqa: E402  (the same tiny notebook)

pytestmark = pytest.mark.browser

MATH = ".MathJax, .MathJax_Display"  # the elements MathJax (HTML-CSS output) puts in place of the TeX
# MathJax 2 probes whether web fonts load with a blank font at about:blank, which Chromium refuses from a file page.
FONT_PROBE = "about:blank"


def open_offline(browser, page_path: Path):
    """Open ``page_path`` with every non-file request aborted; wait for MathJax. Returns (page, what happened)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    seen = {"other hosts": [], "failed": [], "console": []}

    def only_files(route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            seen["other hosts"].append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.on("requestfailed", lambda request: seen["failed"].append(request.url)
            if request.url != FONT_PROBE else None)
    page.on("console", lambda message: seen["console"].append(message.text)
            if message.type == "error" and FONT_PROBE not in message.text and "ERR_FAILED" not in message.text
            else None)
    page.goto(page_path.resolve().as_uri())
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                           "&& MathJax.Hub.queue.running === 0 && document.querySelector('.MathJax_Preview, "
                           ".MathJax, .MathJax_Display, .jp-MarkdownOutput') !== null", timeout=60_000)
    page.wait_for_timeout(500)
    return page, seen


def rendered(page) -> dict:
    return page.evaluate(f"""() => ({{
      math: document.querySelectorAll('{MATH}').length,
      errors: document.querySelectorAll('.MathJax_Error, merror').length,
      raw: [...document.querySelectorAll('.jp-MarkdownOutput')].map(node => node.innerText)
             .filter(text => /\\$|\\\\\\(|\\\\\\[|\\\\frac|\\\\mathrm/.test(text)),
      images: [...document.querySelectorAll('.jp-OutputArea img')].map(image => image.naturalWidth),
    }})""")


def test_report_renders_its_equation_and_figure_offline(tmp_path, browser, screenshots):
    source = tmp_path / "tiny.ipynb"
    nbformat.write(notebook_with_equation_and_figure(), source)
    page_path = tmp_path / "reports" / "tiny.html"
    report.write_html(source, page_path)
    page, seen = open_offline(browser, page_path)
    try:
        screenshots.take(page.locator(".jp-MarkdownOutput").first, "equation")
        state = rendered(page)
        assert state["math"] >= 2, f"the equations were not typeset: {state}"
        assert not state["errors"] and not state["raw"], f"TeX left unrendered: {state}"
        assert state["images"] and all(width > 0 for width in state["images"]), f"a figure is missing: {state}"
        assert seen == {"other hosts": [], "failed": [], "console": []}, seen
    finally:
        page.close()


@pytest.mark.parametrize("notebook", sorted((repo_root() / "notebooks").glob("*.ipynb")), ids=lambda path: path.stem)
def test_every_notebook_renders_its_equations_offline(notebook, tmp_path, browser, screenshots):
    """The notebooks' own markdown (their equations) as the report shows it; outputs are checked by the test above."""
    page_path = tmp_path / "reports" / f"{notebook.stem}.html"
    report.write_html(notebook, page_path)
    page, seen = open_offline(browser, page_path)
    try:
        screenshots.take(page, notebook.stem)
        state = rendered(page)
        assert not state["errors"], f"MathJax could not typeset {state['errors']} equations"
        assert not state["raw"], "TeX shown raw in: " + " | ".join(text[:300] for text in state["raw"])
        assert seen == {"other hosts": [], "failed": [], "console": []}, seen
    finally:
        page.close()


def test_index_landing_page_renders_cards_badges_and_thumbnails_offline(tmp_path, browser, screenshots):
    """The report's index opened from disk with the network cut: one card per notebook, the badges say what the
    results files decide, every thumbnail loads."""
    from test_reports_offline import write_report_fixture

    from xai_nb_utils.core import ledger
    from xai_nb_utils.core.paths import reports_dir

    notebooks = write_report_fixture(tmp_path)
    index = report.write_index(reports_dir(), notebooks)
    decided = {f"{row['paper']} {row['claim_id']}": row["verdict"]
               for row in ledger.headline_rows(reports_dir() / "results")}
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file://", "data:"))
               else (requests.append(route.request.url), route.abort()))
    try:
        page.goto(index.resolve().as_uri())
        page.wait_for_load_state("load")
        screenshots.take(page, "index_landing_page")
        shown = page.evaluate("""() => ({
          cards: [...document.querySelectorAll('section.card h2')].map(node => node.innerText.trim()),
          badges: Object.fromEntries([...document.querySelectorAll('.badge')].map(
              node => [node.dataset.claim, node.dataset.verdict])),
          colours: [...document.querySelectorAll('.badge')].map(node => getComputedStyle(node).backgroundColor),
          thumbs: [...document.querySelectorAll('img.thumb')].map(image => image.complete && image.naturalWidth),
        })""")
        assert shown["cards"] == ["01 · Alpha study", "02 · Beta study", "03 · Never run"], shown
        assert shown["badges"] == decided, shown
        assert len(set(shown["colours"])) == len(set(decided.values())), "each verdict has its own colour"
        assert len(shown["thumbs"]) == 2 and all(shown["thumbs"]), f"a thumbnail did not load: {shown}"
        assert requests == [], requests
    finally:
        page.close()
