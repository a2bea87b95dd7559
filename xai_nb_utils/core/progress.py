"""Progress bars that reach the reader in both worlds: tqdm's widget bar in Jupyter, and in a headless run (the
papermill runner, the notebook tests) a plain text bar on stderr, updated at most every few seconds, which the
runner forwards to its own output (a widget bar would only be a widget message nobody renders).

Inside :func:`transient_bars` a widget bar closes once it is done, so an app keeps no finished bar (a model trained
on first use) above its controls."""
import contextlib

from xai_nb_utils.core.params import is_headless

_transient = False

HEADLESS_MIN_INTERVAL_S = 5.0


def tqdm(iterable=None, **kwargs):
    """``tqdm.auto.tqdm`` in an interactive session, ``tqdm.std.tqdm`` (text, every 5 s at most) when headless."""
    if is_headless():
        from tqdm.std import tqdm as text_bar

        return text_bar(iterable, **{"mininterval": HEADLESS_MIN_INTERVAL_S, **kwargs})
    from tqdm.auto import tqdm as auto_bar

    return auto_bar(iterable, **({"leave": False} if _transient else {}), **kwargs)


@contextlib.contextmanager
def transient_bars():
    """Widget bars opened inside this block are removed when they finish (``leave=False``)."""
    global _transient
    before, _transient = _transient, True
    try:
        yield
    finally:
        _transient = before
