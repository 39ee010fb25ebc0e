"""Benchmarks of pyisp_contrast against its peers.

Run them all with ``python -m benchmarks [--quick] [--only NAME ...] [--device cuda]``, or one with
``python benchmarks/bench_<name>.py [--quick]``. Results go to ``benchmarks/results/``.
"""
