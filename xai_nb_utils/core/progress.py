"""Progress bars that reach the reader in both worlds: tqdm's widget bar in Jupyter, and in a headless run (the
papermill runner, the notebook tests) a plain text bar on stderr, updated at most every few seconds, which the
runner forwards to its own output (a widget bar would only be a widget message nobody renders)."""
from xai_nb_utils.core.params import is_headless

HEADLESS_MIN_INTERVAL_S = 5.0


def tqdm(iterable=None, **kwargs):
    """``tqdm.auto.tqdm`` in an interactive session, ``tqdm.std.tqdm`` (text, every 5 s at most) when headless."""
    if is_headless():
        from tqdm.std import tqdm as text_bar

        return text_bar(iterable, **{"mininterval": HEADLESS_MIN_INTERVAL_S, **kwargs})
    from tqdm.auto import tqdm as auto_bar

    return auto_bar(iterable, **kwargs)
