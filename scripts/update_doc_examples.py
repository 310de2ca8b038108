"""Rewrite the outputs shown under each ``$ allocator ...`` example with what the tool prints now.

    .venv/bin/python scripts/update_doc_examples.py                  # README.md and docs/*.md
    .venv/bin/python scripts/update_doc_examples.py docs/whatif.md   # some pages

Run it after a change to a message or a number, then read the diff before
committing: the doc tests (tests/test_doc_examples.py) compare strictly.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_examples import ROOT, pages, update_page  # noqa: E402


def main(argv: list[str]) -> int:
    targets = [Path(a).resolve() for a in argv] or pages()
    for page in targets:
        changed = update_page(page)
        print(f"{page.relative_to(ROOT)}: {changed} example(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
