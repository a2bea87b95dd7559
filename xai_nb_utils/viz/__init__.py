"""Plotting and widgets."""
