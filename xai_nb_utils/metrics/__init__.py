"""Metrics of saliency maps; each convention is an explicit argument. Metrics never import ``methods``."""
