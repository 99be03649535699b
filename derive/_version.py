"""The version of derive: one place, read by the package, the exported modules and pyproject.toml."""

__version__ = "0.1.0"
