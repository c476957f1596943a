"""The version alone, so that any module may name it without importing the package face."""

__version__ = "0.3.0"
