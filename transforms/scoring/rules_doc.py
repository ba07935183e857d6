"""docs/scoring.md, generated from the rule files: per performance year, which rule values are confirmed and by
what source, and which are estimates or unconfirmed. Regenerate with

    .venv/bin/python -m transforms.scoring.rules_doc > docs/scoring.md

and print only the confirmed counts per year with ``--summary``.

(tests/test_scoring_audit.py checks the file is current).
"""
from __future__ import annotations

import json

from transforms.scoring.rules import Rules, available_years, load_rules

TAGS = {"[V]": "verified in a regulation or CMS artifact", "[D]": "derived from CMS data files",
        "[S]": "secondary source (not CMS)", "[R]": "recalled from a final rule, not re-read", "[?]": "uncertain"}


def _short(value, width: int = 70) -> str:
    text = "—" if value is None else (str(value) if not isinstance(value, (dict, list))
                                      else json.dumps(value, separators=(", ", ": ")))
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _payment_line(rules: Rules) -> str:
    sf = rules.leaf("payment.scaling_factor")
    rng = rules["payment.scaling_factor_range"]
    if sf.value is not None:
        state = "an **estimate** (secondary source)" if sf.unconfirmed else "published"
        line = f"scaling factor {sf.value:g}: {state}"
    else:
        line = (f"scaling factor **not published**: positive adjustments are shown as a **range** "
                f"(factor {rng['low']:g} to {rng['high']:g}); pass `--scaling-factor` for a figure")
    if rules["payment.additional_performance_threshold"] is not None:
        esf = rules.leaf("payment.exceptional_scaling_factor")
        erng = rules["payment.exceptional_scaling_factor_range"]
        line += ("; exceptional factor " + (f"{esf.value:g}" if esf.value is not None else
                                            f"**not published** (range {erng['low']:g} to {erng['high']:g})"))
    return line


def scoring_markdown() -> str:
    years = available_years()
    lines = ["# Scoring rules by performance year: what is confirmed, by what source, and what is not", "",
             "Generated from `data/rules/<PY>.yaml` by `transforms/scoring/rules_doc.py`; do not edit by hand.",
             "Every rule value the scorer uses carries a source tag:", ""]
    lines += [f"- **{tag}** {text}" for tag, text in TAGS.items()]
    lines += ["", "A value is **confirmed** when its source is only [V] or [D]; anything tagged [S], [R] or [?] is "
              "**unconfirmed**, and every output row that rests on one names it (`final_scores.unconfirmed_rules`, "
              "`category_scores.unconfirmed_rules`; the run manifest lists the year's). A payment adjustment that "
              "needs an unpublished scaling factor is a range (`payment_adjustment_low/high_percent`), one from a "
              "secondary source an estimate (`payment_adjustment_basis`).", "",
              "| PY | payment year | values | confirmed | unconfirmed | scaling factor |", "|---|---|---:|---:|---:|---|"]
    for year in years:
        r = load_rules(year)
        live = [leaf for leaf in r.leaves.values() if leaf.value is not None]
        unconfirmed = [leaf for leaf in live if leaf.unconfirmed]
        lines.append(f"| {year} | {r['payment.payment_year']} | {len(live)} | {len(live) - len(unconfirmed)} | "
                     f"{len(unconfirmed)} ({100 * len(unconfirmed) / len(live):.0f}%) | {_payment_line(r)} |")
    for year in years:
        r = load_rules(year)
        lines += ["", f"## Performance year {year} (payment year {r['payment.payment_year']})", "",
                  _payment_line(r)[0].upper() + _payment_line(r)[1:] + ".", "",
                  "| rule | value | status | source |", "|---|---|---|---|"]
        for leaf in r.leaves.values():
            status = "not applicable" if leaf.value is None else ("**unconfirmed**" if leaf.unconfirmed else "confirmed")
            lines.append(f"| `{leaf.path}` | {_short(leaf.value)} | {status} | {leaf.source.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def confirmation_summary() -> list[tuple[int, int, int]]:
    """(performance year, rule values that apply, of which confirmed) per year: the numbers of docs/scoring.md's table.
    A value that does not apply in the year (``value: null``) is not counted."""
    out = []
    for year in available_years():
        live = [leaf for leaf in load_rules(year).leaves.values() if leaf.value is not None]
        out.append((year, len(live), sum(not leaf.unconfirmed for leaf in live)))
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--summary"]:
        for year, values, confirmed in confirmation_summary():
            print(f"PY{year}: {confirmed} of {values} rule values confirmed ({100 * confirmed / values:.0f}%)")
    else:
        print(scoring_markdown(), end="")
