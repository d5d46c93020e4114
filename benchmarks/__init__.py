"""Benchmarks of the spacy_zh_mtl pipelines: accuracy matrix and speed.

  python -m benchmarks.accuracy prepare|run|evaluate|report ...
  python -m benchmarks.speed all ...

The cells (datasets and settings) are data in `benchmarks.cells`.
"""
