"""The user guide: the generated site-file page is fresh, the site builds with no warning, README's
Python names are the public API, and no page points outside the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pandas as pd
import pytest

import allocator
from scripts.doc_examples import ROOT, pages
from scripts.gen_site_file_doc import PAGE, render


def test_site_file_page_is_generated_from_the_current_schema():
    assert PAGE.read_text(encoding="utf-8") == render(allocator.json_schema()), (
        "docs/site-file.md is stale: run python scripts/gen_site_file_doc.py")


def test_site_file_page_lists_every_field_of_the_schema():
    text = PAGE.read_text(encoding="utf-8")
    schema = allocator.json_schema()
    for model in schema["$defs"].values():
        for name in model.get("properties", {}):
            assert re.search(rf"`[a-z_.\[\]]*\b{name}`", text), name


def test_mkdocs_strict_build_passes(tmp_path):
    """A broken link, a missing anchor, a page left out of the nav or an API name that no longer
    resolves is a warning, and --strict makes it fail."""
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8").count("doc-heading") >= 5
    built = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html"))
    # nothing is fetched when a page is opened: no scripts, styles or fonts from elsewhere
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', built)


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_examples_use_only_the_public_api():
    blocks = _python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "README shows no Python example"
    imported = set()
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom):
                assert node.module == "allocator", f"README imports from {node.module}: use the public API"
                imported |= {alias.name for alias in node.names}
    assert imported
    assert imported <= set(allocator.__all__), imported - set(allocator.__all__)
    for name in imported:
        assert getattr(allocator, name) is not None


def test_readme_python_example_runs(monkeypatch):
    """The README's Python example, run as shown from the root of a copy of the example files."""
    import shutil

    from scripts.doc_examples import scratch_copy

    work = scratch_copy()
    try:
        monkeypatch.chdir(work)
        namespace: dict = {}
        for block in _python_blocks((ROOT / "README.md").read_text(encoding="utf-8")):
            exec(compile(block, "README.md", "exec"), namespace)
        split = namespace["result"].split
        assert list(split.site_id) == ["west_texas"]
        written = pd.read_csv(work / "runs" / "from_python" / "split.csv")
        assert written.ai_it_mw.tolist() == split.ai_it_mw.tolist()
        assert written.net_usd.tolist() == pytest.approx(split.net_usd.tolist(), rel=1e-12)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_no_page_points_outside_the_repository():
    for page in pages():
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "MODEL.md" not in text, page
        for target in re.findall(r"\]\(([^)#]+)", text):
            assert not target.startswith(("http:", "https:", "/")), (page, target)
            assert (page.parent / target).resolve().is_relative_to(ROOT), (page, target)
            assert (page.parent / target).exists(), (page, target)


def test_readme_fits_on_a_few_screens():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def test_examples_never_write_the_same_folder_twice():
    """A reader who follows the README and then every page in one checkout never hits 'already exists'."""
    import shlex

    from scripts.doc_examples import parse

    written: dict[str, str] = {}
    for page in pages():
        for command in parse(page.read_text(encoding="utf-8")):
            argv = shlex.split(command.text)
            if command.exit_code or "--out" not in argv or "--force" in argv:
                continue
            out = argv[argv.index("--out") + 1]
            where = f"{page.name}:{command.line_index + 1}"
            assert out not in written, f"--out {out} in {where} and {written[out]}"
            written[out] = where


def test_api_page_documents_every_public_name():
    """docs/api.md renders each name of allocator.__all__ from the module that defines it."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = {line.split()[1] for line in text.splitlines() if line.startswith("::: ")}
    for name in set(allocator.__all__) - {"__version__"}:
        obj = getattr(allocator, name)
        assert f"{obj.__module__}.{obj.__name__}" in documented, name


def test_python_examples_in_the_guide_import_only_public_names():
    for page in pages():
        for block in _python_blocks(page.read_text(encoding="utf-8")):
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.ImportFrom) and node.module == "allocator":
                    missing = {a.name for a in node.names} - set(allocator.__all__)
                    assert not missing, (page.name, missing)
