"""Reading message IDs from files: plain lists, CSV, and Sent.dm send responses (JSON).

Every importer returns the valid IDs (deduplicated, in file order) and the problems it skipped,
each with where (line number or JSON path) and why. A bad line never loses the good ones.
"""

from __future__ import annotations

from tui.importers.base import ImportResult, Problem
from tui.importers.detect import read_ids

__all__ = ["ImportResult", "Problem", "read_ids"]
