"""Interactive figures that still render headless.

``live(draw, theta=FloatSlider(...), ...)`` shows the controls and an ``interactive_output`` that redraws on
every change. Under the papermill runner or the notebook tests (``XAI_HEADLESS=1``) no kernel answers widget
events, so the default state is drawn once as a static figure instead.
"""
import ipywidgets
import matplotlib.pyplot as plt
from IPython.display import display

from xai_nb_utils.core.params import is_headless


def live(draw, **controls):
    """Wire ``controls`` (name -> ipywidget) to ``draw(**values)`` (which makes a matplotlib figure)."""
    if is_headless():
        draw(**{name: widget.value for name, widget in controls.items()})
        plt.show()
        return None
    output = ipywidgets.interactive_output(draw, controls)
    box = ipywidgets.VBox([ipywidgets.HBox(list(controls.values())), output])
    display(box)
    return box
