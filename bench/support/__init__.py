"""What several benchmarks share (a module folder, so `make bench`'s `bench/*.py` does not run it)."""
