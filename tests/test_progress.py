"""Progress bars: a text bar when headless; in an interactive session a bar that stays when done, except inside
``transient_bars`` (the explorer app keeps no finished training bar above its controls)."""
import io

from xai_nb_utils.core import progress


def test_bars_inside_transient_bars_do_not_stay(monkeypatch):
    monkeypatch.setenv("XAI_HEADLESS", "0")
    with progress.transient_bars():
        inside = progress.tqdm(range(2), file=io.StringIO())
        with progress.transient_bars():
            pass
        still_inside = progress.tqdm(range(2), file=io.StringIO())
    after = progress.tqdm(range(2), file=io.StringIO())
    assert (inside.leave, still_inside.leave, after.leave) == (False, False, True)


def test_headless_bars_are_text_bars_updated_every_few_seconds(monkeypatch):
    monkeypatch.setenv("XAI_HEADLESS", "1")
    bar = progress.tqdm(range(2), file=io.StringIO())
    assert bar.mininterval == progress.HEADLESS_MIN_INTERVAL_S
