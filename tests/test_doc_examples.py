"""The commands shown in README.md and docs/*.md print what the pages say (scripts/doc_examples.py).

A failure shows the difference. When a message changed on purpose, rewrite the
pages with ``python scripts/update_doc_examples.py`` and review the diff.
"""

from __future__ import annotations

import pytest

from scripts.doc_examples import ROOT, check_page, pages, parse

PAGES = [p for p in pages() if parse(p.read_text(encoding="utf-8"))]


def test_there_are_examples_to_run():
    names = {p.name for p in PAGES}
    assert {"README.md", "troubleshooting.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_print_what_is_shown(page):
    failures = [o.report(page) for o in check_page(page) if not o.ok]
    assert not failures, (
        "\n\n".join(failures)
        + "\n\nIf the change is intended: python scripts/update_doc_examples.py "
        + str(page.relative_to(ROOT))
    )
