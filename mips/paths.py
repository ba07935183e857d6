"""Where the project's own data lives (relative to the checkout; the project is installed editable)."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"   # compiled from CMS qpp-measures-data by scripts/compile_reference.py
RULES_DIR = DATA_DIR / "rules"           # one scoring-rule file per performance year, each value with its source
SAMPLE_DIR = DATA_DIR / "sample"         # bundled synthetic sample made by `mips generate`
SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "qpp-measures-data"
SHARED_ECQM = PROJECT_ROOT.parent / "shared" / "ecqm"  # CMS eCQM test decks, value sets and CQL (read-only)
