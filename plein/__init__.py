"""Plein's composition root and command line."""

__version__ = "0.1.0"
