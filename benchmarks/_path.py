"""Imported first by every benchmark: puts the repository on sys.path, so `python benchmarks/<script>.py`
works from a plain checkout (Python puts only the script's own folder there)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
