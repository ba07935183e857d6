"""Build step: compile CMS qpp-measures-data (../shared) into the project's own tables under data/reference/.

- ``catalog``: measures, strata, PI, IA, cost measures, benchmarks (decile lower bounds), benchmark exclusions,
  cost national averages (tables declared in ``schemas/reference.py``).
- ``claims_spec``: Medicare Part B claims specifications as relational code tables (``schemas/reference_claims.py``).

Run it with ``python scripts/compile_reference.py``.
"""
