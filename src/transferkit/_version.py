"""The package version, in one place (read by setuptools, the run records and the CLI)."""

__version__ = "0.1.0"
