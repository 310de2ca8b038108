"""The doc-example checker itself: it parses, masks only what is volatile, and catches a wrong output."""

from __future__ import annotations

import pytest

from scripts import doc_examples
from scripts.doc_examples import Command, Outcome, normalize, parse

PAGE = """\
text
```console
$ allocator validate a.toml   # exit 1
error: 1 problem
  - a.toml: bad
$ head -2 runs/x.csv
a,b
```
```toml
$ not a command
```
"""


def test_parse_reads_commands_outputs_and_exit_codes():
    first, second = parse(PAGE)
    assert (first.text, first.exit_code, first.line_index) == ("allocator validate a.toml", 1, 2)
    assert first.expected == ["error: 1 problem", "  - a.toml: bad"]
    assert (second.text, second.exit_code, second.expected) == ("head -2 runs/x.csv", 0, ["a,b"])


def test_output_before_a_command_is_an_error():
    with pytest.raises(ValueError, match="must start with"):
        parse("```console\nstray\n```\n")


def test_normalize_masks_timings_only():
    assert normalize(["sweep: 77 rows in 5.8 s (13.3 rows/s); wrote x  ", ""]) == [
        "sweep: 77 rows in <t> s (<n> rows/s); wrote x"]
    assert normalize(["net 159,977,888"]) != normalize(["net 159,977,889"])
    assert normalize(["AI IT MW 125.0"]) != normalize(["AI IT MW 125.5"])


def test_a_changed_number_or_exit_status_fails():
    shown = Command(0, "allocator x", 0, ["net 1,000"])
    assert Outcome(shown, 0, ["net 1,000"]).ok
    assert not Outcome(shown, 0, ["net 1,001"]).ok
    assert not Outcome(shown, 1, ["net 1,000"]).ok


def test_unknown_commands_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unsupported command"):
        doc_examples.run("rm -rf runs", tmp_path)


def test_update_rewrites_outputs_in_place(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("intro\n```console\n$ head -1 data.csv\nstale line\nmore stale\n```\nend\n")
    (tmp_path / "data.csv").write_text("fresh,header\nrow\n")
    monkeypatch.setattr(doc_examples, "scratch_copy", lambda: _copy_of(tmp_path))
    assert doc_examples.update_page(page) == 1
    assert page.read_text() == "intro\n```console\n$ head -1 data.csv\nfresh,header\n```\nend\n"
    assert doc_examples.update_page(page) == 0


def _copy_of(folder):
    import shutil
    import tempfile
    from pathlib import Path

    work = Path(tempfile.mkdtemp())
    shutil.copytree(folder, work, dirs_exist_ok=True)
    return work
