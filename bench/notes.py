"""The prose of docs/benchmarks.md: how each figure is measured and what limits it."""

METHOD = """## Method

- TODO
"""

LIMITS = """## What limits each figure

- TODO
"""
