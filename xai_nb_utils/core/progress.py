"""Progress bars that reach the reader in both worlds: tqdm's widget bar in Jupyter, and in a headless run (the
papermill runner, the notebook tests) a plain text bar on stderr, updated at most every few seconds, which the
runner forwards to its own output (a widget bar would only be a widget message nobody renders).

Inside :func:`transient_bars` a widget bar is hidden once it is done, so an app keeps no finished bar (a model
trained on first use) above its controls."""
import contextlib

from xai_nb_utils.core.params import is_headless

_transient = False

HEADLESS_MIN_INTERVAL_S = 5.0


def tqdm(iterable=None, **kwargs):
    """``tqdm.auto.tqdm`` in an interactive session, ``tqdm.std.tqdm`` (text, every 5 s at most) when headless."""
    if is_headless():
        from tqdm.std import tqdm as text_bar

        return text_bar(iterable, **{"mininterval": HEADLESS_MIN_INTERVAL_S, **kwargs})
    import tqdm.auto

    bar = tqdm.auto.tqdm(iterable, **kwargs)
    if _transient and hasattr(bar, "container"):  # a widget bar: hidden when done (closing its widget would leave
        close = bar.close                            # "Error displaying widget" where it was shown)

        def close_and_hide():
            close()
            bar.container.layout.display = "none"

        bar.close = close_and_hide
    return bar


@contextlib.contextmanager
def transient_bars():
    """Widget bars opened inside this block are hidden when they finish."""
    global _transient
    before, _transient = _transient, True
    try:
        yield
    finally:
        _transient = before
