"""evalray: Ray-based, scalable evaluation and load testing for large language models."""

__version__ = "0.1.0"
