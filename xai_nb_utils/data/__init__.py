"""Datasets: the embedded ones (``embedded``) and user-supplied paper-scale ones (``external``)."""
