"""Every ``nbu.live`` widget responds in JupyterLab: each notebook that has one runs (smoke profile, the
``xai-workbook`` kernel) in headless Chromium, then for every widget: it is displayed once, every control has a
visible label, and moving any control changes the figure below, without an error.

The notebook is opened as a copy in the server's folder: its cells up to the last widget, ``profile = "smoke"``
injected after the parameters cell (as papermill does). ``XAI_BROWSER_NOTEBOOKS`` points at another notebooks folder
(e.g. a ``git show`` of the last commit) to try the harness on other versions.
"""
import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from xai_nb_utils.core.paths import repo_root

pytestmark = pytest.mark.browser

NOTEBOOKS_DIR = Path(os.environ.get("XAI_BROWSER_NOTEBOOKS", repo_root() / "notebooks"))
LIVE_CALL = re.compile(r"\blive\(")
KERNEL = {"name": "xai-workbook", "display_name": "Python (xai workbook)", "language": "python"}
RUN_SECONDS = 300  # one notebook on the smoke profile, up to its last widget
REDRAW_SECONDS = 90  # one redraw after a control moved
WIDGET_OUTPUT = ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output > .jupyter-widgets"  # top level


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def live_cells(notebook: dict) -> list[int]:
    return [i for i, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "code" and LIVE_CALL.search(_source(cell))]


def notebooks_with_widgets() -> list[Path]:
    return [path for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
            if live_cells(json.loads(path.read_text(encoding="utf-8")))]


def smoke_copy(notebook: Path, folder: Path) -> tuple[str, list[int]]:
    """Write ``folder/<name>``: the cells up to the last widget, outputs cleared, the smoke profile injected after
    the parameters cell, the workbook kernel. Returns the name and the indices of its widget cells."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cells = nb["cells"][:live_cells(nb)[-1] + 1]
    parameters = next(i for i, cell in enumerate(cells) if "parameters" in cell.get("metadata", {}).get("tags", []))
    cells.insert(parameters + 1, {"cell_type": "code", "id": "injected-smoke-profile", "execution_count": None,
                                  "outputs": [], "source": 'profile = "smoke"',
                                  "metadata": {"tags": ["injected-parameters"]}})
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["cells"] = cells
    nb["metadata"]["kernelspec"] = KERNEL
    (folder / notebook.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return notebook.name, live_cells(nb)


RUN_ALL = """() => {
  window.__xaiRun = {done: false};
  const app = window.jupyterapp, panel = app.shell.currentWidget;
  Promise.all([panel.context.ready, panel.sessionContext.ready])
    .then(() => app.commands.execute('notebook:run-all-cells'))
    .then(ok => { window.__xaiRun = {done: true, ok: ok}; },
          error => { window.__xaiRun = {done: true, ok: false, error: String(error)}; });
}"""

CELL_ERRORS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells, errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (const output of cell.outputs.toJSON())
      if (output.output_type === 'error') errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
  }
  return errors;
}"""

# The figure nodes now shown get a mark; a redraw replaces them with unmarked ones (or shows a traceback).
MARK_FIGURE = "output => output.querySelectorAll('img').forEach(image => { image.dataset.xaiShown = '1'; })"
REDRAWN = """output => {
  const failed = [...output.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
    .some(node => /Traceback|Error/.test(node.innerText));
  const image = output.querySelector('img');
  return failed || (image !== null && image.complete && !image.dataset.xaiShown);
}"""


def figure_of(output) -> str | None:
    image = output.locator("img")
    return image.first.get_attribute("src") if image.count() else None


def redraw_after(page, output, change, what: str) -> bool:
    """Run ``change()`` (which moves a control), wait for the widget's figure to be drawn again; True when the new
    figure differs from the old one. Fails when no redraw comes or the redraw raised."""
    before = figure_of(output)
    output.evaluate(MARK_FIGURE)
    change()
    try:
        page.wait_for_function(REDRAWN, arg=output.element_handle(), timeout=REDRAW_SECONDS * 1000, polling=250)
    except PlaywrightTimeout:
        raise AssertionError(f"{what}: the widget does not respond (no new figure within {REDRAW_SECONDS} s)") from None
    failure = output.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    if failure.count() and re.search(r"Traceback|Error", failure.first.inner_text()):
        raise AssertionError(f"{what}: the redraw failed:\n{failure.first.inner_text()[-2000:]}")
    return figure_of(output) != before


def changes_the_figure(page, output, control, dropdowns, what: str) -> bool:
    """Moving ``control`` changes the figure, in the widget's current state or, failing that, after choosing another
    option of one of the ``dropdowns`` (a control may act on some methods only)."""
    if redraw_after(page, output, lambda: move(control), what):
        return True
    for dropdown in dropdowns:
        for _ in range(dropdown.locator("option").count() - 1):
            redraw_after(page, output, lambda: move(dropdown), what)
            if redraw_after(page, output, lambda: move(control), what):
                return True
    return False


def move(control) -> str:
    """Change one control as a person would; returns what was done."""
    classes = control.get_attribute("class") or ""
    if "widget-slider" in classes:
        handle = control.locator(".noUi-handle").first
        at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        key = "ArrowLeft" if at_end else "ArrowRight"
        handle.focus()
        handle.press(key)
        return f"slider {key}"
    if "widget-dropdown" in classes:
        select = control.locator("select")
        options = select.locator("option")
        current = select.evaluate("node => node.selectedIndex")
        choice = (current + 1) % options.count()
        select.select_option(index=choice)
        return f"dropdown option {choice}"
    if "widget-checkbox" in classes:
        control.locator("input[type=checkbox]").click()
        return "checkbox click"
    number = control.locator("input[type=number], input[type=text]")
    if number.count():
        box = number.first
        value = box.input_value()
        box.fill(str(float(value or 0) + 1))
        box.press("Enter")
        return f"text {value} + 1"
    raise AssertionError(f"no way to move a control with classes {classes!r}: teach move() this widget type")


def label_of(control) -> dict:
    """The control's label as shown: its text, whether it is visible and whether it is cut off."""
    return control.evaluate("""node => {
      const label = node.querySelector('.widget-label, .widget-label-basic');
      if (!label) return {text: '', visible: false, truncated: false};
      const box = label.getBoundingClientRect();
      return {text: label.innerText.trim(), visible: box.width > 0 && box.height > 0,
              truncated: label.scrollWidth > label.clientWidth + 1};
    }""")


@pytest.mark.parametrize("notebook", notebooks_with_widgets(), ids=lambda path: path.stem)
def test_every_widget_responds(notebook, lab, browser, screenshots):
    name, widget_cells = smoke_copy(notebook, lab.root)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        page.goto(lab.url(name))
        page.wait_for_function("name => { const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                               " return panel && panel.sessionContext && panel.context.path === name; }",
                               arg=name, timeout=120_000)
        panel = f'[id="{page.evaluate("() => window.jupyterapp.shell.currentWidget.id")}"]'
        page.evaluate(RUN_ALL)
        page.wait_for_function("() => window.__xaiRun.done", timeout=RUN_SECONDS * 1000, polling=1000)
        screenshots.take(page, f"{notebook.stem}_after_run")
        errors = page.evaluate(CELL_ERRORS)
        assert not errors, f"{name} failed on the smoke profile: {errors}"
        assert page.evaluate("() => window.__xaiRun.ok"), f"running {name} did not complete: " \
                                                          f"{page.evaluate('() => window.__xaiRun')}"
        cells = page.locator(f"{panel} .jp-Notebook .jp-Cell")
        problems = []
        for index in widget_cells:
            cell = cells.nth(index)
            cell.scroll_into_view_if_needed()
            widget_outputs = cell.locator(WIDGET_OUTPUT)
            page.wait_for_function("([cell, widget]) => cell.querySelector(widget + ' .widget-output img')",
                                   arg=[cell.element_handle(), WIDGET_OUTPUT], timeout=60_000)
            assert widget_outputs.count() == 1, f"cell {index}: the widget is shown {widget_outputs.count()} times"
            box = widget_outputs.first
            output = box.locator(".widget-output").first
            controls = box.locator(".widget-hbox").first.locator(":scope > .jupyter-widgets")
            assert controls.count(), f"cell {index}: the widget has no controls"
            dropdowns = [number for number in range(controls.count())
                         if "widget-dropdown" in (controls.nth(number).get_attribute("class") or "")]
            for number in range(controls.count()):
                control = controls.nth(number)
                label = label_of(control)
                if not (label["text"] and label["visible"]) or label["truncated"]:
                    problems.append(f"cell {index}, control {number}: label {label}")
                what = f"cell {index}, control {number} ({label['text']!r})"
                screenshots.take(box, f"{notebook.stem}_cell{index}_control{number}_before")
                others = [controls.nth(other) for other in dropdowns if other != number]
                changed = changes_the_figure(page, output, control, others, what)
                screenshots.take(box, f"{notebook.stem}_cell{index}_control{number}_after")
                assert changed, f"{what}: moving it redraws the same figure, whatever the dropdowns show"
        assert page.get_by_text("Error displaying widget").count() == 0, "a widget could not be displayed"
        assert not problems, "controls without a visible, complete label: " + "; ".join(problems)
        assert not console_errors, f"browser console errors: {console_errors}"
    finally:
        page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                      " && window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()
