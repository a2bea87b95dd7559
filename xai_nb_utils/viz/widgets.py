"""Interactive figures that still render headless.

``live(draw, theta=FloatSlider(...), ...)`` shows the controls, each with a visible label, above an
``interactive_output`` that redraws on every change. Under the papermill runner or the notebook tests
(``XAI_HEADLESS=1``) no kernel answers widget events, so the default state is drawn once as a static figure instead.
"""
import time

import ipywidgets
import matplotlib.pyplot as plt
from IPython.display import display

from xai_nb_utils.core.params import is_headless

SLIDERS = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.SelectionSlider,
           ipywidgets.IntRangeSlider, ipywidgets.FloatRangeSlider, ipywidgets.SelectionRangeSlider)


def label_of(name: str) -> str:
    """A readable label for a keyword name: ``image_index`` -> ``image index``."""
    return name.replace("_", " ").strip()


def labelled(name: str, widget):
    """``widget`` with a description (its own, else ``label_of(name)``) shown at full width; sliders redraw on
    release instead of on every step of a drag."""
    if not widget.description:
        widget.description = label_of(name)
    widget.style.description_width = "initial"
    if isinstance(widget, SLIDERS):
        widget.continuous_update = False
    return widget


def live(draw, timed: bool = False, **controls) -> None:
    """Wire ``controls`` (name -> ipywidget) to ``draw(**values)`` (which makes a matplotlib figure) and display
    the result once. Returns nothing, so the cell's value does not display a second copy. ``timed``: a status line
    under the controls says "computing ..." while ``draw`` runs and how long it took afterwards (for slow draws)."""
    if is_headless():
        draw(**{name: widget.value for name, widget in controls.items()})
        plt.show()
        return
    controls = {name: labelled(name, widget) for name, widget in controls.items()}
    row = ipywidgets.HBox(list(controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap"))
    if timed:
        status = ipywidgets.HTML()

        def draw_timed(**values):
            status.value = "<i>computing ...</i>"
            started = time.perf_counter()
            draw(**values)
            status.value = f"drawn in {time.perf_counter() - started:.1f} s"

        box = ipywidgets.VBox([row, status, ipywidgets.interactive_output(draw_timed, controls)])
    else:
        box = ipywidgets.VBox([row, ipywidgets.interactive_output(draw, controls)])
    display(box)
