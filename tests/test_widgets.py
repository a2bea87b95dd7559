"""``nbu.live``: one copy of the widget, a visible label on every control, a static figure headless."""
import ipywidgets
import matplotlib.pyplot as plt
import pytest

from xai_nb_utils.viz import widgets


@pytest.fixture
def displayed(monkeypatch):
    """What ``live`` passes to IPython's ``display`` (in a kernel, each call is one rendered copy)."""
    shown = []
    monkeypatch.setattr(widgets, "display", shown.append)
    return shown


def test_headless_draws_the_default_state_once_as_a_static_figure(monkeypatch, displayed):
    monkeypatch.setenv("XAI_HEADLESS", "1")
    calls, figures = [], []
    monkeypatch.setattr(plt, "show", lambda: figures.append(plt.get_fignums()))

    def draw(theta, mode):
        calls.append((theta, mode))
        plt.figure()

    assert widgets.live(draw, theta=ipywidgets.FloatSlider(value=0.25), mode=ipywidgets.Dropdown(options=["a", "b"])) \
        is None
    plt.close("all")
    assert calls == [(0.25, "a")]
    assert len(figures) == 1 and displayed == []


def test_interactive_widget_is_displayed_once_and_returns_nothing(monkeypatch, displayed):
    monkeypatch.setenv("XAI_HEADLESS", "0")
    calls = []
    slider = ipywidgets.IntSlider(value=1, min=0, max=5)
    result = widgets.live(lambda image_index: calls.append(image_index), image_index=slider)
    assert result is None, "a returned widget is displayed a second time as the cell's value"
    assert len(displayed) == 1
    box = displayed[0]
    assert slider in box.children[0].children
    assert isinstance(box.children[1], ipywidgets.Output)
    slider.value = 3
    assert calls == [1, 3]


def test_every_control_gets_a_visible_label(monkeypatch, displayed):
    monkeypatch.setenv("XAI_HEADLESS", "0")
    named = ipywidgets.Dropdown(options=["x", "y"], description="sigma")
    unnamed = ipywidgets.FloatSlider(value=0.5)
    widgets.live(lambda activation, k_eta: None, activation=named, k_eta=unnamed)
    assert named.description == "sigma", "a description given by the notebook is kept"
    assert unnamed.description == "k eta"
    for control in (named, unnamed):
        assert control.style.description_width == "initial", "the default width truncates longer labels"
    assert unnamed.continuous_update is False


def test_label_of_keyword_names():
    assert widgets.label_of("image_index") == "image index"
    assert widgets.label_of("theta") == "theta"
