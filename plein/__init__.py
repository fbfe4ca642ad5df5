"""Plein's composition root and command line."""
