"""Corrupted index files: opening raises the clear error (checksum mismatch), never crashes or misleads."""

from __future__ import annotations

import json
import subprocess
import sys

from kb import Settings

from .conftest import ROOT


def test_every_index_file_truncated_and_flipped(real_settings: Settings) -> None:
    # In a subprocess: if FAISS ever parsed a malformed file and crashed, this test fails instead of the run.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "corrupt.py"), str(real_settings.index_dir), "--per-kind", "25"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert len(results) == 17  # CURRENT, manifest and the fifteen data files
    for name, counts in results.items():
        assert counts["trials"] == 50
        assert counts["other"] == 0, name  # never a wrong or mixed index
        if name != "CURRENT":  # checksummed files: every corruption is caught
            assert counts["clear_error"] == 50, (name, counts)
