"""The ``transferkit`` command line."""
