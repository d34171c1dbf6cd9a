"""The repository stands alone: a user who clones it has nothing beside it.

Docs, config comments and code must point at files inside the repository (the procedure's
text is docs/procedure/, the decisions docs/architecture.md), never at a sibling folder or a
path of the machine the project was built on.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\.\./shared|/work/(shared|main)\b")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    skipped = (".png", ".jpg", ".ico", ".woff", ".woff2", ".mo", ".zip")
    return [ROOT / n for n in names if not n.endswith(skipped) and (ROOT / n).is_file()]


def test_no_file_names_a_path_outside_the_repository():
    offenders = []
    for path in _tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_the_procedure_text_and_the_decisions_are_in_docs():
    assert "L2" in (ROOT / "docs/procedure/RULES.md").read_text(encoding="utf-8")
    assert "投诉" in (ROOT / "docs/procedure/source-zh.txt").read_text(encoding="utf-8")
    assert "engine/" in (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
