"""Papermill runner: executes the workbook's notebooks headless and writes an HTML index.

    python -m xai_nb_utils.report --profile default
    python -m xai_nb_utils.report --profile smoke --only 00 -p n_images=4

Each notebook in ``notebooks/`` (sorted by name) runs with the parameters ``profile``,
``device`` and any ``-p key=value``; the executed notebook goes to ``reports/<stem>.ipynb``,
its HTML to ``reports/<stem>.html`` (readable offline: MathJax from ``reports/_static/``), and
the results it recorded (``results.Recorder``) are read from ``reports/results/<stem>.json``,
its tables also as ``reports/tables/<stem>/<key>.csv``. The run stops at the first failing
notebook, naming the notebook and the cell, and exits non-zero. ``reports/index.html`` is the landing page: the
headline verdicts per paper, then one card per notebook (what it found, its verdicts, key figures, run time) with
its recorded values and tables (first rows and the CSV) collapsed below.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import fnmatch
import hashlib
import html
import json
import os
import sys
import time
import uuid
from pathlib import Path

from jupyter_client.manager import KernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import default

from xai_nb_utils.core import ledger, paths
from xai_nb_utils.core.params import DEVICES, PROFILES
from xai_nb_utils.core.results import is_table, table_columns, table_csv_path, tables_in

KERNEL_NAME = "xai-workbook"  # installed into the venv by `make setup`
FALLBACK_KERNEL_NAME = "python3"
RUN_LOG_NAME = "run_log.json"
# Figures in executed notebooks at 72 dpi (Jupyter's inline default for years; matplotlib's 100 made the image-heavy
# notebooks exceed 3 MB). ``save_figure`` keeps its own resolution for the files in figures/.
INLINE_FIGURE_KWARGS = {"bbox_inches": "tight", "dpi": 72}
UNFINISHED_NAME = "run_unfinished.json"  # present while a run has not finished all its notebooks
WALL_TIME_KEY = "_run"  # the run log's entry of the last run's wall time (notebooks may run concurrently)


class NotebookFailed(RuntimeError):
    """A notebook raised an error; names the notebook and the failing cell."""

    def __init__(self, notebook: Path, cell_index: int | None, exec_count, source: str,
                 ename: str, evalue: str):
        self.notebook = Path(notebook)
        self.cell_index = cell_index
        self.exec_count = exec_count
        self.source = source
        self.ename = ename
        self.evalue = evalue
        first_line = next((line for line in source.splitlines() if line.strip()), "")
        super().__init__(
            f"notebook {self.notebook.name} failed in cell {cell_index} "
            f"(execution count {exec_count}, starting `{first_line}`): {ename}: {evalue}"
        )


def default_notebooks_dir() -> Path:
    return paths.repo_root() / "notebooks"


def find_notebooks(notebooks_dir: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Notebooks in ``notebooks_dir`` sorted by name; ``only`` keeps stems matching any pattern
    (a glob, or a plain substring such as ``03``)."""
    notebooks_dir = Path(notebooks_dir or default_notebooks_dir())
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))
    if only:
        found = [p for p in found if any(_matches(p.stem, pattern) for pattern in only)]
    return found


def _matches(stem: str, pattern: str) -> bool:
    return fnmatch.fnmatch(stem, pattern) or pattern in stem


def kernel_name() -> str:
    """The venv's own kernel when installed (``make setup``), else ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else FALLBACK_KERNEL_NAME


@contextlib.contextmanager
def _environment(**overrides: str):
    """Temporarily set environment variables (inherited by the notebook kernel)."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def results_path(output_dir: Path, stem: str) -> Path:
    return Path(output_dir) / "results" / f"{stem}.json"


class IpcKernelManager(KernelManager):
    """A kernel manager that talks to its kernel over local IPC sockets instead of TCP: nothing listens on a port,
    and the kernel's "running over TCP without encryption" warning no longer fills the runner's output."""

    @default("transport")
    def _default_transport(self):
        return "ipc"

    @default("ip")
    def _default_ip(self):  # the socket files' path prefix (short: a socket path has at most ~100 characters)
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        return str(runtime / f"xai-{uuid.uuid4().hex[:12]}")


def run_notebook(path, profile: str, output_dir, parameters: dict | None = None,
                 kernel: str | None = None) -> tuple[dict, float]:
    """Execute one notebook with papermill; return (recorded results, seconds).

    ``output_dir`` plays the role of ``reports/``: the kernel gets ``XAI_REPORTS_DIR`` set to it,
    so the notebook's results land in ``output_dir/results/<stem>.json``. The executed notebook
    and its HTML are written to ``output_dir/<stem>.ipynb`` and ``.html`` (also on failure).
    Raises ``NotebookFailed`` naming the failing cell.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    path = Path(path).resolve()
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / f"{path.stem}.ipynb"
    recorded = results_path(output_dir, path.stem)
    recorded.unlink(missing_ok=True)  # never attribute a stale result to this run

    started = time.perf_counter()
    try:
        with _environment(XAI_HEADLESS="1", MPLBACKEND="module://matplotlib_inline.backend_inline", XAI_REPORTS_DIR=str(output_dir)):
            papermill.execute_notebook(
                str(path), str(executed),
                parameters={"profile": profile, **(parameters or {})},
                kernel_name=kernel or kernel_name(),
                cwd=str(path.parent),
                kernel_manager_class=IpcKernelManager,
                progress_bar={"desc": path.stem, "unit": "cell", "leave": True},
                stderr_file=sys.stderr,  # the long steps' progress bars (tqdm writes to stderr)
                extra_arguments=[f"--InlineBackend.print_figure_kwargs={INLINE_FIGURE_KWARGS!r}"],
            )
    except PapermillExecutionError as error:
        raise NotebookFailed(path, error.cell_index, error.exec_count, error.source,
                             error.ename, error.evalue) from None
    finally:
        seconds = time.perf_counter() - started
        if executed.exists():
            compact_figures(executed)
            write_html(executed, output_dir / f"{path.stem}.html")
    results = json.loads(recorded.read_text()) if recorded.exists() else {}
    return results, seconds


PHOTO_PNG_BYTES = 100_000  # a figure PNG this large is checked for photo-like content
JPEG_QUALITY = 90


def as_jpeg_if_photo(png: bytes) -> bytes | None:
    """The figure as a JPEG when it is photo-like (image grids: JPEG at most a third of the PNG), else None."""
    import io

    from PIL import Image

    if len(png) < PHOTO_PNG_BYTES:
        return None
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    jpeg = io.BytesIO()
    flat.save(jpeg, "JPEG", quality=JPEG_QUALITY)
    return jpeg.getvalue() if jpeg.tell() * 3 <= len(png) else None


def compact_figures(notebook_path: Path) -> None:
    """Store the executed notebook's photo-like figures as JPEG (a grid of saliency maps is 3-5 times smaller and
    looks the same); plots and text stay PNG. Keeps executed notebooks of image-heavy studies below a few MB."""
    import base64

    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    changed = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            jpeg = as_jpeg_if_photo(base64.b64decode(png)) if png else None
            if jpeg:
                output["data"]["image/jpeg"] = base64.b64encode(jpeg).decode()
                del output["data"]["image/png"]
                output.get("metadata", {}).pop("image/png", None)
                changed = True
    if changed:
        nbformat.write(nb, notebook_path)


# nbconvert's lab template without what it loads from other hosts: require.js and the widget manager (an executed
# report is static: headless runs draw widgets as figures) and mermaid.js (no notebook has a diagram). MathJax uses
# the web font that the local copy ships (STIX-Web) and adds no hidden MathML copy (its styles ask for TeX fonts
# that the copy lacks).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null}, menuSettings: {assistiveMML: false}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
"""
STATIC_DIR = "_static"  # beside the HTML reports: the local MathJax copy
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


def local_mathjax(folder: Path) -> Path:
    """``folder/_static/mathjax``: MathJax 2.7 as shipped by the ``jupyter-server-mathjax`` package, copied once."""
    import shutil

    import jupyter_server_mathjax

    target = Path(folder) / STATIC_DIR / "mathjax"
    if not (target / "MathJax.js").exists():
        source = Path(jupyter_server_mathjax.__file__).parent / "static"
        partial = target.with_name(f".mathjax-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns("localization"))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


def write_html(notebook_path: Path, html_path: Path) -> None:
    """The notebook as a static HTML page that needs no network: equations typeset by the MathJax copy in
    ``_static/`` beside it, images embedded, no script from another host."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    html_path = Path(html_path)
    mathjax = local_mathjax(html_path.parent)
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2",
                            mathjax_url=f"{mathjax.relative_to(html_path.parent).as_posix()}/MathJax.js"
                                        f"?config={MATHJAX_CONFIG}")
    body, _ = exporter.from_notebook_node(nbformat.read(notebook_path, as_version=4))
    html_path.write_text(body, encoding="utf-8")


# ---------------------------------------------------------------- index

def _load_run_log(output_dir: Path) -> dict:
    log_path = output_dir / RUN_LOG_NAME
    try:
        return json.loads(log_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _update_run_log(output_dir: Path, stem: str, entry: dict) -> dict:
    log = _load_run_log(output_dir)
    log[stem] = entry
    (output_dir / RUN_LOG_NAME).write_text(json.dumps(log, indent=1, sort_keys=True))
    return log


PREVIEW_ROWS = 5  # rows of each recorded table shown on the index page (the CSV has all)


def _summarize(value) -> str:
    """A short text for one recorded value: scalars as they are (floats to 4 digits), tables by their size (their
    rows are shown beside it)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if is_table(value):
        return f"table of {len(value)} rows"
    if isinstance(value, dict):
        text = ", ".join(f"{key}: {_summarize(item)}" for key, item in value.items())
    else:
        text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _cell_text(value) -> str:
    """One table cell: text as it is, nothing for None, anything else as ``_summarize`` writes it."""
    return value if isinstance(value, str) else "" if value is None else _summarize(value)


def _table_preview(rows: list[dict], csv_href: str | None) -> str:
    """The first rows of a recorded table as HTML, with a link to its CSV."""
    columns = table_columns(rows)
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell_text(row.get(column)))}</td>" for column in columns)
                   + "</tr>" for row in rows[:PREVIEW_ROWS])
    shown = f"first {PREVIEW_ROWS} of {len(rows)} rows" if len(rows) > PREVIEW_ROWS else f"{len(rows)} rows"
    link = f' &middot; <a href="{html.escape(csv_href)}">CSV</a>' if csv_href else ""
    return (f'<div class="table"><table><tr>{head}</tr>{body}</table>'
            f"<small>{shown}{link}</small></div>")


def _results_cell(results: dict, output_dir: Path, stem: str) -> str:
    """Every record: scalars summarised, tables (also nested ones) with their first rows and a link to the CSV."""
    items = []
    for key, value in results.get("records", {}).items():
        text = "" if is_table(value) else f" = {html.escape(_summarize(value))}"
        previews = []
        for name, rows in tables_in(key, value).items():
            csv_file = table_csv_path(output_dir, stem, name)
            href = csv_file.relative_to(output_dir).as_posix() if csv_file.exists() else None
            label = "" if name == key else f"<code>{html.escape(name)}</code>"
            previews.append(label + _table_preview(rows, href))
        items.append(f"<li><code>{html.escape(str(key))}</code>{text}{''.join(previews)}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _claims_cell(results: dict) -> str:
    items = []
    for claim in results.get("claims", []):
        mark = "&#10004;" if claim.get("passed") else "&#10008;"
        colour = "green" if claim.get("passed") else "red"
        items.append(f'<li><span style="color:{colour}">{mark}</span> {html.escape(str(claim.get("name")))}'
                     f' <small>{html.escape(str(claim.get("detail", "")))}</small></li>')
    return f"<ul>{''.join(items)}</ul>" if items else ""


FINDING_FALLBACK = "This run recorded no finding (the notebook has no `finding` record)."
THUMBNAILS_PER_CARD = 2
THUMBNAIL_WIDTH = 360  # pixels
THUMBS_DIR = "thumbs"  # under _static/


def notebook_title(notebook: Path) -> str:
    """The first heading of the notebook's first markdown cell ("00 · Workbench tour"), else its file stem."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return notebook.stem
    for cell in (cell for cell in cells if cell.get("cell_type") == "markdown"):
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return notebook.stem


def key_figures(executed: Path, limit: int = THUMBNAILS_PER_CARD) -> list[tuple[bytes, str]]:
    """The first ``limit`` figures of an executed notebook as (image bytes, "png" or "jpeg"): those of cells that
    save a figure to figures/ (``save_figure``) first, then any other figure output."""
    import base64

    import nbformat

    if not executed.exists():
        return []
    saved, other = [], []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            kind = next((k for k in ("image/png", "image/jpeg") if k in data), None)
            if kind:
                (saved if "save_figure(" in cell.source else other).append(
                    (base64.b64decode(data[kind]), kind.split("/")[1]))
    return (saved + other)[:limit]


def write_thumbnails(output_dir: Path, stem: str) -> list[str]:
    """Small copies of the notebook's key figures in ``_static/thumbs/`` (paths relative to ``output_dir``)."""
    import io

    from PIL import Image

    folder = output_dir / STATIC_DIR / THUMBS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{stem}-*"):
        old.unlink()
    written = []
    for number, (data, kind) in enumerate(key_figures(output_dir / f"{stem}.ipynb")):
        image = Image.open(io.BytesIO(data))
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4))
        path = folder / f"{stem}-{number}.{'jpg' if kind == 'jpeg' else 'png'}"
        image.convert("RGB").save(path, quality=JPEG_QUALITY) if kind == "jpeg" else image.save(path)
        written.append(path.relative_to(output_dir).as_posix())
    return written


def source_commit() -> str:
    """The repository's commit (short), with "+ changes" when the working tree differs from it; "unknown" outside
    a git checkout."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(paths.repo_root()), *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + (" + changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _verdict_class(verdict: str) -> str:
    return "v-" + verdict.replace(" ", "-")


def _badge(row: dict) -> str:
    """One headline claim as a coloured badge; its label, effect and reason on hover."""
    from xai_nb_utils.core.claims import interval_text

    tip = f"{row['label']}: effect {interval_text(row)}, n = {row.get('n') or '-'}. {row.get('reason') or ''}"
    return (f'<span class="badge {_verdict_class(row["verdict"])}" title="{html.escape(tip)}" '
            f'data-claim="{html.escape(row["paper"])} {html.escape(row["claim_id"])}" '
            f'data-verdict="{html.escape(row["verdict"])}">{html.escape(row["paper"])} '
            f'{html.escape(row["claim_id"])}: {html.escape(row["verdict"])}</span>')


def _summary_strip(log: dict, rows: list[dict], total: float) -> str:
    """The top of the index: per-paper headline verdict counts, the run's wall time, profile(s) and commit."""
    counts = ledger.headline_counts(rows)
    papers = "".join(
        f'<div class="paper" data-paper="{html.escape(paper)}"><b>{html.escape(paper)}</b> '
        + "".join(f'<span class="count {_verdict_class(v)}" data-verdict="{html.escape(v)}">{n} {html.escape(v)}'
                  f"</span>" for v, n in value.items() if n)
        + "</div>" for paper, value in counts.items()) or "<div>no headline claim recorded yet</div>"
    run = log.get(WALL_TIME_KEY, {})
    profiles = sorted({entry["profile"] for key, entry in log.items() if key != WALL_TIME_KEY})
    wall = (f"{run['seconds']:.1f} s wall with {run['jobs']} job(s) "
            f"({'finished' if run['finished'] else 'stopped early'})" if run else "not run yet")
    facts = (f"<span>run: {wall}; notebooks {total:.0f} s in all</span><span>profile: "
             f"{html.escape(', '.join(profiles) or '-')}</span><span>commit: "
             f"{html.escape(run.get('commit', 'unknown'))}</span><span>written "
             f'{datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}</span>')
    return f'<div class="summary"><div class="facts">{facts}</div><div class="papers">{papers}</div></div>'


def _card(notebook: Path, entry: dict | None, results: dict, rows: list[dict], output_dir: Path) -> str:
    """One notebook: title, finding, headline badges, key figures linking to the notebook, run time; its recorded
    values and self-checks collapsed below."""
    stem = notebook.stem
    href = f"{html.escape(stem)}.html"
    title = html.escape(notebook_title(notebook))
    if entry is None:
        return (f'<section class="card" id="{html.escape(stem)}"><h2>{title}</h2><p class="meta">'
                f"{html.escape(stem)}: not run yet</p></section>")
    status = html.escape(entry["status"])
    status = status if entry["status"] == "ok" else f'<span class="failed">{status}</span>'
    finding = results.get("records", {}).get("finding")
    finding = html.escape(finding) if isinstance(finding, str) and finding.strip() else \
        f'<span class="fallback">{html.escape(FINDING_FALLBACK)}</span>'
    badges = "".join(_badge(row) for row in rows if row["notebook"] == stem)
    thumbs = "".join(f'<a href="{href}"><img class="thumb" src="{html.escape(src)}" alt="figure {number + 1} of '
                     f'{html.escape(stem)}"></a>' for number, src in enumerate(write_thumbnails(output_dir, stem)))
    claims = results.get("claims", [])
    passed = sum(bool(claim.get("passed")) for claim in claims)
    return (f'<section class="card" id="{html.escape(stem)}"><h2><a href="{href}">{title}</a></h2>'
            f'<p class="meta"><a href="{href}">{html.escape(stem)}</a> &middot; {status} &middot; '
            f"{html.escape(entry['profile'])} &middot; {entry['seconds']:.1f} s</p>"
            f'<p class="finding">{finding}</p>'
            + (f'<div class="badges">{badges}</div>' if badges else "")
            + (f'<div class="thumbs">{thumbs}</div>' if thumbs else "")
            + f"<details><summary>recorded values ({len(results.get('records', {}))}) and self-checks "
              f"({passed} of {len(claims)} hold)</summary>{_results_cell(results, output_dir, stem)}"
              f"{_claims_cell(results)}</details></section>")


INDEX_STYLE = """body{font-family:sans-serif;margin:2em;max-width:80em} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top} ul{margin:0;padding-left:1.2em}
div.table{overflow-x:auto;max-width:70em;margin:2px 0 6px} div.table td,div.table th{padding:1px 4px;font-size:85%}
.summary{background:#f4f6f8;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;margin-bottom:1.5em}
.facts span{margin-right:2em} .papers{margin-top:.4em} .paper{display:inline-block;margin:.2em 1.5em .2em 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;margin:1em 0} .card h2{margin:.2em 0;font-size:1.2em}
.meta{color:#555;margin:.2em 0} .finding{font-size:1.05em} .fallback{color:#777;font-style:italic}
.failed{color:#b00} .thumbs img{max-width:360px;max-height:240px;margin:0 .6em .4em 0;border:1px solid #ddd}
.badge,.count{display:inline-block;border-radius:10px;padding:1px 8px;margin:2px 4px 2px 0;font-size:85%;color:#fff}
.v-reproduced{background:#1a7f37} .v-contradicted{background:#cf222e} .v-no-effect{background:#0969da}
.v-inconclusive{background:#9a6700} .v-not-testable-here{background:#6e7781}
details summary{cursor:pointer;color:#0969da}"""


def write_index(output_dir: Path, notebooks: list[Path]) -> Path:
    """``index.html``, the report's landing page: a summary strip (headline verdict counts per paper, the run's wall
    time, profile, commit), then one card per notebook of ``notebooks`` with its last run; key figures as thumbnails
    in ``_static/thumbs/``. Readable offline."""
    output_dir = Path(output_dir)
    log = _load_run_log(output_dir)
    rows = ledger.headline_rows(output_dir / "results")
    cards, total = [], 0.0
    for notebook in notebooks:
        entry = log.get(notebook.stem)
        results_file = results_path(output_dir, notebook.stem)
        results = json.loads(results_file.read_text()) if entry and results_file.exists() else {}
        total += entry["seconds"] if entry else 0.0
        cards.append(_card(notebook, entry, results, rows, output_dir))
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Saliency workbook report</title>
<style>{INDEX_STYLE}</style>
</head><body>
<h1>Saliency workbook report</h1>
{_summary_strip(log, rows, total)}
{chr(10).join(cards)}
<details><summary>every headline claim with its effect and reason</summary>{ledger.headline_html(rows)}</details>
</body></html>
"""
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# ---------------------------------------------------------------- CLI

def parse_parameter(text: str) -> tuple[str, object]:
    """``key=value`` -> (key, value); the value is a Python literal when it parses as one."""
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"-p expects key=value with a Python name as key, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


class RunRefused(RuntimeError):
    """A run that cannot start: the message says why and what to do."""


def notebook_parameters(path: Path) -> list[str]:
    """The names in the notebook's ``parameters`` cell (papermill's inspection)."""
    import papermill

    return list(papermill.inspect_notebook(str(path)))


def check_parameters(notebooks: list[Path], parameters: dict) -> None:
    """Every ``-p`` name must be a parameter of every selected notebook; ``profile`` and ``device`` have options."""
    for reserved in ("profile", "device"):
        if reserved in parameters:
            raise RunRefused(f"set {reserved} with --{reserved}, not -p {reserved}=...")
    for notebook in notebooks:
        known = notebook_parameters(notebook)
        unknown = sorted(set(parameters) - set(known))
        if unknown:
            raise RunRefused(f"-p {', '.join(unknown)}: not a parameter of {notebook.name}; its parameters are "
                             f"{', '.join(known)} (use --only to run the notebooks that take it)")


def check_writable_folder(path: Path, what: str) -> Path:
    """Create ``path`` if needed and check that files can be written into it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunRefused(f"{what} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise RunRefused(f"{what} {path} is not writable ({error.strerror})") from None
    return path


def run_fingerprint(notebook: Path, profile: str, parameters: dict) -> str:
    """A digest of what a notebook's results depend on: the notebook, the package's code, profile, parameters."""
    digest = hashlib.sha256(notebook.read_bytes())
    for source in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(source.read_bytes())
    digest.update(json.dumps({"profile": profile, **parameters}, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def run_all(profile: str, device: str = "auto", only: list[str] | None = None,
            parameters: dict | None = None, notebooks_dir: Path | None = None,
            output_dir: Path | None = None, resume: bool = False, jobs: int = 1) -> int:
    """Run the notebooks; stop at the first failure. Returns the exit code (2: the run was refused).

    ``resume``: when the previous run into ``output_dir`` did not finish (interrupted or failed), skip the notebooks
    it completed with the same profile, parameters and code; after a finished run everything runs again.
    ``jobs``: how many notebooks run at once, each kernel with its share of the CPU cores as torch threads (the
    caches are safe for concurrent use: a model or result two notebooks need is built once, see ``core.cache``).
    """
    from filelock import FileLock, Timeout

    parameters = parameters or {}
    notebooks = find_notebooks(notebooks_dir, only)
    try:
        if not notebooks:
            raise RunRefused(f"no notebook matches {only} in {notebooks_dir or default_notebooks_dir()}")
        if not isinstance(jobs, int) or jobs < 1:
            raise RunRefused(f"--jobs must be a whole number >= 1, got {jobs!r}")
        output_dir = check_writable_folder(output_dir or paths.reports_dir(), "the report folder (--output-dir)")
        check_writable_folder(paths.figures_dir(), "the figures folder (XAI_FIGURES_DIR)")
        check_parameters(notebooks, parameters)
        lock = FileLock(str(output_dir / ".report.lock"))
        lock.acquire(timeout=0)
    except Timeout:
        print(f"error: another run is writing into {output_dir} (lock {output_dir / '.report.lock'}); wait for it "
              f"to finish or pass another --output-dir", file=sys.stderr)
        return 2
    except (RunRefused, OSError) as refused:  # OSError: core.paths could not use a folder from the environment
        print(f"error: {refused}", file=sys.stderr)
        return 2
    try:
        return _run_locked(notebooks, profile, device, parameters, notebooks_dir, output_dir, resume, jobs)
    finally:
        lock.release()


def kernel_threads(jobs: int) -> dict:
    """The environment that gives each of ``jobs`` concurrent kernels its share of the cores (nothing for one job,
    or when the user set OMP_NUM_THREADS)."""
    if jobs == 1 or "OMP_NUM_THREADS" in os.environ:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // jobs))}


def execute(notebook: Path, label: str, profile: str, output_dir: Path, parameters: dict, kernel: str,
            environment: dict) -> tuple[str, float]:
    """Run one notebook for the runner (in its process or a worker's): (status, seconds); prints the outcome."""
    print(f"{label} {notebook.stem} ...", flush=True)
    started = time.perf_counter()
    status = "ok"
    try:
        with _environment(**environment):
            _, seconds = run_notebook(notebook, profile, output_dir, parameters, kernel=kernel)
    except NotebookFailed as failure:
        seconds = time.perf_counter() - started
        status = f"failed in cell {failure.cell_index}: {failure.ename}"
        print(f"FAILED: {failure}", file=sys.stderr)
        print(f"executed notebook with the error: {output_dir / (notebook.stem + '.ipynb')}", file=sys.stderr)
    print(f"    {notebook.stem}: {status}, {seconds:.1f} s", flush=True)
    return status, seconds


def _run_locked(notebooks, profile, device, parameters, notebooks_dir, output_dir, resume, jobs) -> int:
    unfinished = output_dir / UNFINISHED_NAME
    resuming = resume and unfinished.exists()
    started = time.perf_counter()
    unfinished.write_text(json.dumps({"profile": profile, "started": datetime.datetime.now().isoformat()}))
    kernel = kernel_name()
    print(f"running {len(notebooks)} notebook(s), profile={profile}, device={device}, kernel={kernel}, jobs={jobs}"
          + (" (resuming the unfinished run)" if resuming else ""))
    run_log = _load_run_log(output_dir)  # the previous run's: what to skip when resuming, and its times
    pending = []
    for number, notebook in enumerate(notebooks, start=1):
        fingerprint = run_fingerprint(notebook, profile, parameters)
        previous = run_log.get(notebook.stem, {})
        label = f"[{number}/{len(notebooks)}]"
        if resuming and previous.get("status") == "ok" and previous.get("fingerprint") == fingerprint \
                and results_path(output_dir, notebook.stem).exists():
            print(f"{label} {notebook.stem}: completed in the unfinished run, skipped", flush=True)
            continue
        pending.append((notebook, label, fingerprint))
    arguments = (profile, output_dir, {"device": device, **parameters}, kernel, kernel_threads(jobs))

    def log(notebook, fingerprint, status, seconds):
        _update_run_log(output_dir, notebook.stem, {"status": status, "profile": profile, "parameters": parameters,
                                                     "fingerprint": fingerprint, "seconds": round(seconds, 2)})
        return status == "ok"

    if jobs == 1:
        finished = all(log(notebook, fingerprint, *execute(notebook, label, *arguments))
                       for notebook, label, fingerprint in pending)  # all() stops at the first failure
    else:
        finished = _run_concurrently(longest_first(pending, run_log), arguments, jobs, log)
    if finished:
        unfinished.unlink()
        if profile == "default" and notebooks_dir is None and notebooks == find_notebooks():
            ledger.publish(output_dir / "results", paths.repo_root() / "docs", paths.repo_root() / "README.md")
            print("recorded results copied to docs/results/; docs/reproduction.md, the README's headline table and "
                  "the values in docs/notes/ written from them")
    wall = time.perf_counter() - started
    _update_run_log(output_dir, WALL_TIME_KEY, {"seconds": round(wall, 2), "jobs": jobs, "finished": finished,
                                                "commit": source_commit()})
    index = write_index(output_dir, find_notebooks(notebooks_dir))
    print(f"{'finished' if finished else 'stopped'} in {wall:.1f} s wall; index: {index}")
    return 0 if finished else 1


def longest_first(pending: list, run_log: dict) -> list:
    """``pending`` (notebook, label, fingerprint) ordered by the notebooks' last recorded run time, longest first,
    so that the long ones do not start last while the other workers idle; notebooks never run keep their order
    ahead of the rest."""
    return sorted(pending, key=lambda item: -run_log.get(item[0].stem, {}).get("seconds", float("inf")))


def _run_concurrently(pending, arguments, jobs, log) -> bool:
    """Run ``pending`` notebooks ``jobs`` at a time in worker processes, started in the given order; after a
    failure no further notebook starts (those running finish). True when every one succeeded."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    finished = True
    queue = list(pending)
    running = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while queue or running:
            while queue and finished and len(running) < jobs:
                notebook, label, fingerprint = queue.pop(0)
                running[pool.submit(execute, notebook, label, *arguments)] = (notebook, fingerprint)
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                notebook, fingerprint = running.pop(future)
                finished = log(notebook, fingerprint, *future.result()) and finished
    return finished


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xai_nb_utils.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="default")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="passed to every notebook")
    parser.add_argument("--only", nargs="+", metavar="PATTERN",
                        help="run only notebooks whose name matches (glob or substring)")
    parser.add_argument("-p", dest="parameters", action="append", type=parse_parameter, default=[],
                        metavar="KEY=VALUE", help="extra notebook parameter (Python literal or text)")
    parser.add_argument("--notebooks-dir", type=Path, default=None, help="default: notebooks/ of the repository")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: reports/ (XAI_REPORTS_DIR)")
    parser.add_argument("--resume", action="store_true",
                        help="after an interrupted or failed run, skip the notebooks it completed unchanged")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks run at once, each kernel with its share of the cores (default 1)")
    args = parser.parse_args(argv)
    return run_all(args.profile, args.device, args.only, dict(args.parameters),
                   args.notebooks_dir, args.output_dir, args.resume, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
