"""Reports that work offline and export their data: HTML with a local MathJax and no script from another host,
recorded tables as CSV and as rows on the index page, figures as PNG and PDF, compact executed notebooks (72 dpi,
photo-like figures as JPEG); the index as a landing page (summary strip, one card per notebook with its finding,
headline verdict badges and thumbnails).
(The rendering itself is checked in headless Chromium by tests/browser/test_offline_reports.py.)"""
import base64
import html
import io
import json
import re

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
from PIL import Image

from xai_nb_utils import report
from xai_nb_utils.core import ledger
from xai_nb_utils.core.claims import HeadlineClaim
from xai_nb_utils.core.params import setup
from xai_nb_utils.core.paths import figures_dir, reports_dir
from xai_nb_utils.core.results import Recorder
from xai_nb_utils.metrics.statistics import paired_t
from xai_nb_utils.studies import headline
from xai_nb_utils.viz.plotting import save_figure

REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//|import\(\s*["'](?:https?:)?//""")


def notebook_with_equation_and_figure():
    figure, axes = plt.subplots(figsize=(2, 2))
    axes.plot([0, 1], [1, 0])
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                            "version_minor": 0}}
    nb.cells = [nbformat.v4.new_markdown_cell("Inline $E = mc^2$ and displayed $$\\int_0^1 x\\,dx = \\frac{1}{2}$$"),
                nbformat.v4.new_code_cell("figure", execution_count=1, outputs=[nbformat.v4.new_output(
                    "display_data", data={"image/png": base64.b64encode(png.getvalue()).decode(),
                                          "text/plain": "<Figure>"})])]
    return nb


def test_html_report_loads_nothing_from_another_host(tmp_path):
    source = tmp_path / "tiny.ipynb"
    nbformat.write(notebook_with_equation_and_figure(), source)
    page = tmp_path / "reports" / "tiny.html"
    report.write_html(source, page)
    text = page.read_text()
    assert not REMOTE.findall(text), "the report loads a script, style or font from another host"
    mathjax = re.search(r'<script src="([^"?]+MathJax\.js)\?config=', text)
    assert mathjax, "MathJax is not loaded"
    assert (page.parent / mathjax.group(1)).is_file(), "the MathJax script is not beside the report"
    assert "data:image/png;base64," in text, "the figure is not embedded"


def _record_run(stem: str, rows: int) -> None:
    recorder = Recorder(stem, profile="smoke")
    recorder.record("scores", pd.DataFrame({"method": [f"m{i}" for i in range(rows)],
                                            "score": [0.123456 * i for i in range(rows)]}))
    recorder.record("context", {"accuracy": 0.5, "per_class": [{"class": "a", "n": 3}]})
    recorder.record("n_images", 8)
    (reports_dir() / report.RUN_LOG_NAME).write_text(json.dumps(
        {stem: {"status": "ok", "profile": "smoke", "seconds": 1.0}}))


def test_recorded_tables_are_written_as_csv():
    _record_run("09_tables", rows=7)
    tables = reports_dir() / "tables" / "09_tables"
    assert sorted(path.name for path in tables.iterdir()) == ["context.per_class.csv", "scores.csv"]
    scores = pd.read_csv(tables / "scores.csv")
    assert list(scores.columns) == ["method", "score"] and len(scores) == 7
    assert scores["score"].iloc[3] == 0.123456 * 3, "the CSV keeps full precision"
    Recorder("09_tables")
    assert not tables.exists(), "a new run of the notebook must not keep the tables of the last one"


def test_index_shows_the_first_rows_of_every_table_with_a_link_to_its_csv(tmp_path):
    _record_run("09_tables", rows=7)
    notebook = tmp_path / "09_tables.ipynb"
    notebook.write_text("{}")
    index = report.write_index(reports_dir(), [notebook]).read_text()
    assert "table, 7 rows" not in index
    assert "<td>m4</td>" in index and "<td>0.4938</td>" in index, "the first rows are shown with their values"
    assert "<td>m5</td>" not in index, f"only the first {report.PREVIEW_ROWS} rows are shown"
    assert "first 5 of 7 rows" in index
    for csv_name in ("tables/09_tables/scores.csv", "tables/09_tables/context.per_class.csv"):
        assert f'href="{csv_name}"' in index and (reports_dir() / csv_name).is_file()
    assert "<code>n_images</code> = 8" in index and "accuracy: 0.5" in index


def test_save_figure_writes_png_and_pdf():
    figure, axes = plt.subplots()
    axes.plot([0, 1])
    path = save_figure(figure, "00_example")
    plt.close(figure)
    assert path == figures_dir() / "00_example.png"
    assert path.read_bytes().startswith(b"\x89PNG")
    assert path.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def _figure_output(draw) -> dict:
    figure, axes = plt.subplots(figsize=(6, 6))
    draw(axes)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    plt.close(figure)
    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png.getvalue()).decode(),
                                                        "text/plain": "<Figure>"})


def test_photo_like_figures_are_stored_as_jpeg_and_plots_stay_png(tmp_path):
    import numpy as np

    noise = np.random.default_rng(0).random((120, 120, 3))  # smoothly upsampled: like a saliency-map grid
    nb = nbformat.v4.new_notebook()
    maps = _figure_output(lambda axes: axes.imshow(noise, interpolation="bicubic"))
    nb.cells = [nbformat.v4.new_code_cell("maps", outputs=[maps]),
                nbformat.v4.new_code_cell("plot", outputs=[_figure_output(lambda axes: axes.plot([0, 1, 0]))])]
    path = tmp_path / "figures.ipynb"
    nbformat.write(nb, path)
    before = path.stat().st_size
    report.compact_figures(path)
    maps, plot = (cell.outputs[0]["data"] for cell in nbformat.read(path, as_version=4).cells)
    assert "image/jpeg" in maps and "image/png" not in maps
    assert Image.open(io.BytesIO(base64.b64decode(maps["image/jpeg"]))).size == \
        Image.open(io.BytesIO(base64.b64decode(nb.cells[0].outputs[0]["data"]["image/png"]))).size
    assert "image/png" in plot and "image/jpeg" not in plot
    assert path.stat().st_size * 2 < before


def test_runner_writes_compact_figures_offline_html_and_csv_tables(tmp_path):
    """One real run: inline figures at the report's resolution, the HTML with local MathJax, the tables as CSV."""
    notebook = tmp_path / "09_runner.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                            "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell('profile = "default"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_markdown_cell("An equation: $a^2 + b^2 = c^2$"),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                          "from xai_nb_utils.core.results import Recorder\n"
                                          "Recorder('09_runner').record('rows', [{'a': 1}, {'a': 2}])\n"
                                          "plt.figure(figsize=(10, 5)); plt.plot([0, 1]); plt.show()")]
    nbformat.write(nb, notebook)
    output_dir = tmp_path / "reports"
    report.run_notebook(notebook, "smoke", output_dir)
    executed = nbformat.read(output_dir / "09_runner.ipynb", as_version=4)
    png = next(output["data"]["image/png"] for cell in executed.cells for output in cell.get("outputs", [])
               if "image/png" in output.get("data", {}))
    width, _ = Image.open(io.BytesIO(base64.b64decode(png))).size
    assert width <= 10 * report.INLINE_FIGURE_KWARGS["dpi"], f"a 10-inch figure is {width} px wide"
    assert not REMOTE.findall((output_dir / "09_runner.html").read_text())
    assert (output_dir / report.STATIC_DIR / "mathjax" / "MathJax.js").is_file()
    assert (output_dir / "tables" / "09_runner" / "rows.csv").read_text() == "a\n1\n2\n"


# ---------------------------------------------------------------- the index as a landing page

FINDING = "Alpha beats beta on every image (a finding printed from the run's numbers)."


def _headline_family():
    """One paper's family over two notebooks: H1 in 01_alpha, H2 (which needs a premise) and H3 in 02_beta."""
    common = dict(paper="GAX", quote="it holds", section="Abstract", metric="score", comparison="a vs b",
                  hypothesis="superiority", direction="greater", margin=0.0, test="paired t", planned_n=30,
                  n_reason="n >= 30 paired images")
    return (HeadlineClaim(claim_id="H1", label="alpha wins", notebook="01_alpha", **common),
            HeadlineClaim(claim_id="H2", label="needs headroom", notebook="02_beta", premises=("headroom",),
                          **common),
            HeadlineClaim(claim_id="H3", label="beta loses", notebook="02_beta", **common))


def _figure_png(colour: str) -> str:
    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot([0, 1], [0, 1], color=colour)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=72)
    plt.close(figure)
    return base64.b64encode(png.getvalue()).decode()


def _notebook(path, title: str, figures=()):
    """A notebook file with a title cell; with ``figures`` ((cell source, colour), ...) as an executed one."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat you will learn")]
    nb.cells += [nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": _figure_png(colour), "text/plain": "<Figure>"})])
        for source, colour in figures]
    nbformat.write(nb, path)


def write_report_fixture(root):
    """A finished run of three notebooks into ``reports_dir()``: 01_alpha records a finding, a headline claim and
    three figures (two saved to figures/), 02_beta two headline claims and no finding, 03_never did not run.
    Returns the notebook paths."""
    notebooks = root / "notebooks"
    notebooks.mkdir(parents=True)
    for stem, title in (("01_alpha", "01 · Alpha study"), ("02_beta", "02 · Beta study"),
                        ("03_never", "03 · Never run")):
        _notebook(notebooks / f"{stem}.ipynb", title)
    family, rng = _headline_family(), np.random.default_rng(0)
    base = rng.uniform(0, 1, 40)
    alpha = setup("01_alpha", profile="smoke")
    alpha.record("finding", FINDING)
    alpha.record("n_images", 40)
    alpha.claim("the maths holds", True, "1 + 1 = 2")
    headline.record(alpha, family, "H1", {"a vs b": paired_t(base + 0.3 + rng.normal(0, 0.1, 40), base)})
    beta = setup("02_beta", profile="smoke")
    beta.record("n_images", 40)
    headline.record(beta, family, "H2", {"a vs b": paired_t(base + 0.3, base)},
                    {"headroom": headline.check(False, "a random map within 0.01 of the best")})
    headline.record(beta, family, "H3", {"a vs b": paired_t(base - 0.3 + rng.normal(0, 0.1, 40), base)})
    _notebook(reports_dir() / "01_alpha.ipynb", "01 · Alpha study",
              [("fig = plot()", "red"), ("nbu.save_figure(fig, '01_first')", "green"),
               ("nbu.save_figure(fig, '01_second')", "blue")])
    _notebook(reports_dir() / "02_beta.ipynb", "02 · Beta study")
    log = {stem: {"status": "ok", "profile": "smoke", "seconds": seconds}
           for stem, seconds in (("01_alpha", 12.5), ("02_beta", 3.25))}
    log[report.WALL_TIME_KEY] = {"seconds": 14.0, "jobs": 2, "finished": True, "commit": "abc1234"}
    (reports_dir() / report.RUN_LOG_NAME).write_text(json.dumps(log))
    return [notebooks / f"{stem}.ipynb" for stem in ("01_alpha", "02_beta", "03_never")]


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_index_is_a_landing_page_with_cards_badges_and_thumbnails(tmp_path):
    notebooks = write_report_fixture(tmp_path)
    index = report.write_index(reports_dir(), notebooks).read_text()
    rows = ledger.headline_rows(reports_dir() / "results")
    assert [(row["claim_id"], row["verdict"]) for row in rows] == \
        [("H1", "reproduced"), ("H2", "not testable here"), ("H3", "contradicted")]
    strip = _between(index, '<div class="summary">', '<section class="card"')
    assert "14.0 s wall with 2 job(s) (finished)" in strip and "profile: smoke" in strip and "abc1234" in strip
    assert '<span class="count v-reproduced" data-verdict="reproduced">1 reproduced</span>' in strip
    assert "1 contradicted" in strip and "1 not testable here" in strip and ">0 " not in strip
    alpha = _between(index, '<section class="card" id="01_alpha">', "</section>")
    beta = _between(index, '<section class="card" id="02_beta">', "</section>")
    assert "01 · Alpha study" in alpha and html.escape(FINDING) in alpha and "12.5 s" in alpha
    assert 'data-verdict="reproduced">GAX H1: reproduced</span>' in alpha and "H3" not in alpha
    assert "GAX H2: not testable here" in beta and "GAX H3: contradicted" in beta
    assert html.escape(report.FINDING_FALLBACK) in beta and html.escape(FINDING) not in beta
    assert "not run yet" in _between(index, 'id="03_never">', "</section>")
    # the saved figures come first (green, blue), each a thumbnail linking to the notebook
    thumbs = re.findall(r'<a href="01_alpha.html"><img class="thumb" src="([^"]+)"', alpha)
    assert thumbs == ["_static/thumbs/01_alpha-0.png", "_static/thumbs/01_alpha-1.png"]
    assert [_line_colour(Image.open(reports_dir() / thumb)) for thumb in thumbs] == ["green", "blue"]
    for thumb in thumbs:
        assert Image.open(reports_dir() / thumb).width <= report.THUMBNAIL_WIDTH
    assert "<img" not in beta, "02_beta's executed notebook has no figure"
    # recorded values and self-checks stay below the card, collapsed
    details = _between(alpha, "<details>", "</details>")
    assert "<code>n_images</code> = 40" in details and "the maths holds" in details
    assert "self-checks (1 of 1 hold)" in details
    assert not REMOTE.findall(index)


def _line_colour(image) -> str:
    """Which of the fixture's line colours (pure red, matplotlib's green, pure blue) the figure shows."""
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    shown = {"red": ((pixels[:, 0] > 200) & (pixels[:, 1] < 60) & (pixels[:, 2] < 60)).sum(),
             "green": ((pixels[:, 1] > 100) & (pixels[:, 0] < 60) & (pixels[:, 2] < 60)).sum(),
             "blue": ((pixels[:, 2] > 200) & (pixels[:, 0] < 60) & (pixels[:, 1] < 60)).sum()}
    return max(shown, key=shown.get)


def test_key_figures_are_the_saved_ones_first(tmp_path):
    executed = tmp_path / "01_x.ipynb"
    _notebook(executed, "x", [("plot()", "red"), ("nbu.save_figure(fig, 'a')", "green"), ("plot()", "blue")])
    figures = report.key_figures(executed)
    assert [kind for _, kind in figures] == ["png", "png"]
    assert [_line_colour(Image.open(io.BytesIO(data))) for data, _ in figures] == ["green", "red"]
    assert len(report.key_figures(executed, limit=1)) == 1
    assert report.key_figures(tmp_path / "missing.ipynb") == []
