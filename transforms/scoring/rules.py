"""Per-year scoring rules as data: data/rules/<PY>.yaml, every leaf ``{value, source, unconfirmed}``.

A leaf is addressed by its dotted path, e.g. ``rules["quality.case_minimum"]`` -> 20 and
``rules.leaf("quality.case_minimum").source`` -> "[V] ...". The code reads values only
through this object, so a corrected rule is a data change.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mips.errors import PipelineError
from mips.paths import RULES_DIR
from transforms.scoring.rules_schema import problems

_LEAF_KEYS = {"value", "source", "unconfirmed"}


@dataclass(frozen=True)
class RuleValue:
    path: str
    value: Any
    source: str
    unconfirmed: bool


def _flatten(node: Any, prefix: str, out: dict[str, RuleValue]) -> None:
    if isinstance(node, dict) and _LEAF_KEYS <= set(node):
        out[prefix] = RuleValue(prefix, node["value"], str(node["source"]), bool(node["unconfirmed"]))
        return
    if not isinstance(node, dict):
        raise ValueError(f"rule {prefix!r} is not a {{value, source, unconfirmed}} leaf")
    for key, child in node.items():
        _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)


@dataclass(frozen=True)
class Rules:
    performance_year: int
    leaves: dict[str, RuleValue]
    path: Path | None = None

    def __getitem__(self, dotted: str) -> Any:
        return self.leaf(dotted).value

    def __contains__(self, dotted: str) -> bool:
        return dotted in self.leaves

    def leaf(self, dotted: str) -> RuleValue:
        try:
            return self.leaves[dotted]
        except KeyError:
            raise KeyError(f"PY{self.performance_year} rules have no {dotted!r}") from None

    def get(self, dotted: str, default: Any = None) -> Any:
        return self.leaves[dotted].value if dotted in self.leaves else default

    def under(self, prefix: str) -> dict[str, RuleValue]:
        """Leaves below ``prefix`` keyed by the rest of their path (e.g. redistribution scenarios)."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.leaves.items() if k.startswith(p)}

    def unconfirmed(self) -> list[RuleValue]:
        return [v for v in self.leaves.values() if v.unconfirmed]


def rules_from_mapping(doc: dict, path: Path | None = None, *, check_schema: bool = False) -> Rules:
    if not isinstance(doc, dict) or "performance_year" not in doc:
        raise ValueError("rule file must be a mapping with performance_year")
    leaves: dict[str, RuleValue] = {}
    for section, node in doc.items():
        if section in ("performance_year", "note"):
            continue
        _flatten(node, section, leaves)
    if check_schema:
        found = problems(leaves)
        if found:
            name = path.name if path is not None else f"PY{doc['performance_year']} rules"
            raise PipelineError(f"{name} does not fit the rule schema: " + "; ".join(found[:5])
                                + (f" (+{len(found) - 5} more)" if len(found) > 5 else ""))
    return Rules(int(doc["performance_year"]), leaves, path)


@lru_cache(maxsize=None)
def _load(path_text: str) -> Rules:
    path = Path(path_text)
    return rules_from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path, check_schema=True)


def available_years(rules_dir: Path = RULES_DIR) -> list[int]:
    """The performance years that have a rule file: the years come from the files, not from the code."""
    return sorted(int(p.stem) for p in Path(rules_dir).glob("*.yaml") if p.stem.isdigit())


def load_rules(performance_year: int, rules_dir: Path = RULES_DIR) -> Rules:
    """The scoring rules of one performance year; PipelineError if the year has no rule file."""
    path = Path(rules_dir) / f"{int(performance_year)}.yaml"
    if not path.exists():
        years = ", ".join(str(y) for y in available_years(rules_dir)) or "none"
        raise PipelineError(f"no scoring rules for performance year {performance_year} (available: {years})")
    rules = _load(str(path))
    if rules.performance_year != int(performance_year):
        raise PipelineError(f"{path.name} declares performance_year {rules.performance_year}")
    return rules
