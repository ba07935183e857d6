"""MIPS quality-measure pipeline: command line and run-level plumbing.

The library lives in ``schemas`` (table contracts), ``transforms`` (pure table-in,
table-out functions and SQL) and ``flows`` (the thin Prefect shell).
"""
