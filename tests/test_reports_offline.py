"""Reports that work offline and export their data: HTML with a local MathJax and no script from another host,
recorded tables as CSV and as rows on the index page, figures as PNG and PDF, compact executed notebooks (72 dpi,
photo-like figures as JPEG).
(The rendering itself is checked in headless Chromium by tests/browser/test_offline_reports.py.)"""
import base64
import io
import json
import re

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
from PIL import Image

from xai_nb_utils import report
from xai_nb_utils.core.paths import figures_dir, reports_dir
from xai_nb_utils.core.results import Recorder
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
