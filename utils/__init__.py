"""The course package: tested helpers that the notebooks import (see README.md)."""

__version__ = "0.1.0"
