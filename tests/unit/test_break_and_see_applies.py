"""Every break of scripts/break_and_see.py still applies to the code: a break whose text the code no
longer has would leave its Guarantees row unproven without anyone noticing."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_break_applies_and_names_existing_tests():
    spec = importlib.util.spec_from_file_location("break_and_see", REPO / "scripts" / "break_and_see.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["break_and_see"] = module
    spec.loader.exec_module(module)
    assert len(module.BREAKS) >= 50
    for brk in module.BREAKS:
        text = (REPO / brk.file).read_text()
        for old, new in brk.edits:
            assert old in text, f"{brk.name}: {brk.file} no longer has {old.strip()[:80]!r}"
            text = text.replace(old, new, 1)
        for test in brk.tests:
            path, _, name = test.partition("::")
            assert (REPO / path).is_file(), f"{brk.name}: no {path}"
            assert not name or f"def {name.split('[')[0]}(" in (REPO / path).read_text(), f"{brk.name}: no {test}"
