"""Reading message IDs from files: plain lists, CSV, and Sent.dm send responses (JSON).

Every importer returns the valid IDs (deduplicated, in file order) and the problems it skipped,
each with where (line number or JSON path) and why. A bad line never loses the good ones, and no
input — `/dev/zero`, an endless pipe, JSON nested 100,000 deep — is read beyond its bounds.
"""

from __future__ import annotations

from tui.importers.base import ImportResult, Problem
from tui.importers.detect import read_ids, read_ids_from
from tui.importers.source import MAX_IMPORT_BYTES

__all__ = ["MAX_IMPORT_BYTES", "ImportResult", "Problem", "read_ids", "read_ids_from"]
