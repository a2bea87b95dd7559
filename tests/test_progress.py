"""Progress bars: a text bar when headless; in an interactive session a widget bar that stays when done, except
inside ``transient_bars`` (the explorer app keeps no finished training bar above its controls)."""
import io

import tqdm.auto
import tqdm.notebook

from xai_nb_utils.core import progress


def test_widget_bars_inside_transient_bars_are_hidden_when_done(monkeypatch):
    monkeypatch.setenv("XAI_HEADLESS", "0")
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    with progress.transient_bars():
        inside = progress.tqdm(range(2))
        with progress.transient_bars():
            pass
        still_inside = progress.tqdm(range(2))
        running = progress.tqdm(range(2))
        list(inside), list(still_inside)
    after = progress.tqdm(range(2))
    list(after)
    shown = [bar.container.layout.display for bar in (inside, still_inside, running, after)]
    assert shown == ["none", "none", None, None]


def test_headless_bars_are_text_bars_updated_every_few_seconds(monkeypatch):
    monkeypatch.setenv("XAI_HEADLESS", "1")
    bar = progress.tqdm(range(2), file=io.StringIO())
    assert bar.mininterval == progress.HEADLESS_MIN_INTERVAL_S
