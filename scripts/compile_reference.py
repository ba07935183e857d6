"""Compile CMS qpp-measures-data into the project's own reference tables (data/reference/*.parquet).

    python scripts/compile_reference.py [--source DIR] [--out data/reference]

Writes the catalog tables (mips.reference_compiler.catalog), the MIPS Value Pathways (mips.reference_compiler.mvp), the eCQM value sets and measure structure
(mips.reference_compiler.ecqm, from ../shared/ecqm) and, when that module exists, the claims
specification tables (mips.reference_compiler.claims_spec), then prints each table with its row count.
The output is deterministic: the same source gives the same rows in the same order (and the same bytes).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # runnable from a checkout that is not pip-installed
    sys.path.insert(0, str(PROJECT_ROOT))

from mips.errors import PipelineError  # noqa: E402
from mips.paths import REFERENCE_DIR, SHARED_ECQM, SHARED_REFERENCE  # noqa: E402
from mips.reference_compiler.catalog import compile_catalog  # noqa: E402
from mips.reference_compiler.ecqm import compile_ecqm  # noqa: E402
from mips.reference_compiler.mvp import compile_mvp  # noqa: E402


def _claims_spec_compiler():
    """The claims-specification compiler, owned by the measure engine; None until it exists."""
    try:
        module = importlib.import_module("mips.reference_compiler.claims_spec")
    except ModuleNotFoundError as exc:
        if exc.name != "mips.reference_compiler.claims_spec":
            raise
        return None
    return getattr(module, "compile_claims_spec", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SHARED_REFERENCE,
                        help=f"qpp-measures-data folder (default: {SHARED_REFERENCE})")
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR, help=f"output folder (default: {REFERENCE_DIR})")
    parser.add_argument("--ecqm-source", type=Path, default=SHARED_ECQM,
                        help=f"CMS eCQM deck folder with valuesets/, cql/, measures/ (default: {SHARED_ECQM})")
    parser.add_argument("--catalog-only", action="store_true", help="skip the claims specification tables")
    args = parser.parse_args(argv)
    try:
        written = dict(compile_catalog(args.source, args.out))
        written.update(compile_mvp(args.source, args.out))  # MIPS Value Pathways (mvp/<PY>/mvp.json)
        if not args.catalog_only:
            written.update(compile_ecqm(args.ecqm_source, args.out, qpp_source=args.source))
        claims = None if args.catalog_only else _claims_spec_compiler()
        if claims is not None:
            result = claims(args.source, args.out)
            if isinstance(result, dict):
                written.update(result)
            else:
                print("claims specification tables compiled (no row counts returned)")
        elif not args.catalog_only:
            print("note: mips.reference_compiler.claims_spec.compile_claims_spec not available yet; "
                  "claims specification tables not compiled")
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    width = max(len(n) for n in written)
    print(f"wrote {len(written)} tables to {args.out}:")
    for name, rows in written.items():
        print(f"  {name:<{width}}  {rows:>9,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
