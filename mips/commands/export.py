"""`mips export qpp`: QPP Submissions API documents, one per entity and performance year."""
from __future__ import annotations

import argparse
import json
import os
import uuid
from pathlib import Path

from mips.errors import PipelineError

NAME = "export"
HELP = ("Write QPP Submissions API JSON (one document per TIN and TIN/NPI) from a published period; every "
        "document is checked against the API's schema and consistency rules before it is written")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", choices=["qpp"], help="qpp: QPP Submissions API JSON")
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder of the runs (default out/)")
    parser.add_argument("--performance-year", type=int, required=True, help="performance year to export")
    parser.add_argument("--dest", type=Path, required=True,
                        help="folder to write into: DEST/<PY>/group-<TIN>.json and individual-<TIN>-<NPI>.json")
    parser.add_argument("--level", choices=["individual", "group"], help="only this level (default both)")
    parser.add_argument("--tin", help="only this TIN")


def _write_json(path: Path, document: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)  # a reader never sees half a document


def run(args) -> int:
    import duckdb

    from mips.catalog import create_views
    from mips.store import published_years
    from transforms.qpp_export import build_documents

    if not args.output.is_dir() or args.performance_year not in published_years(args.output):
        raise PipelineError(f"performance year {args.performance_year} is not published in {args.output} "
                            f"(run `mips run --performance-year {args.performance_year} ... --output {args.output}`)")
    con = duckdb.connect()
    try:
        create_views(con, args.output)
        entities = build_documents(con, args.performance_year)
    finally:
        con.close()
    entities = [e for e in entities if (args.level is None or e.level == args.level)
                and (args.tin is None or e.tin == args.tin)]
    if not entities:
        raise PipelineError(f"nothing to export for performance year {args.performance_year}: no registry or "
                            "eCQM quality results, PI or IA inputs for the entities asked for")
    folder = args.dest / str(args.performance_year)
    folder.mkdir(parents=True, exist_ok=True)
    written, refused = [], []
    for ent in entities:
        target = folder / f"{ent.name}.json"
        if ent.problems:
            refused.append(ent)
            target.unlink(missing_ok=True)  # an older, now wrong document must not stay beside the new ones
        else:
            _write_json(target, ent.document)
            written.append(ent)
    quiet = args.verbosity == "quiet"
    if not quiet:
        for ent in written:
            sets = ", ".join(f"{s['category']}/{s['submissionMethod']} ({len(s['measurements'])})"
                             for s in ent.document["measurementSets"])
            print(f"  {ent.name}.json: {sets}")
            if args.verbosity == "verbose":
                for note in ent.notes:
                    print(f"      note: {note}")
    for ent in refused:
        print(f"refused {ent.label}: " + "; ".join(f"{rule}: {text}" for rule, text in ent.problems[:5])
              + (f" (+{len(ent.problems) - 5} more)" if len(ent.problems) > 5 else ""))
    print(f"{len(written)} document(s) written to {folder}, validated against the QPP submission schema and "
          f"consistency rules" + (f"; {len(refused)} entit{'y' if len(refused) == 1 else 'ies'} refused" if refused else ""))
    return 1 if refused else 0
