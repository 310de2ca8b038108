"""Paths: site files only ever name files to read; only --out is written, and --force never deletes inputs.

The rule (README "Paths and safety"): a path in a site file is relative to the
site file (or absolute) and must name a regular file, which is only read;
nothing is written through it. The only folder written is --out, by the fixed
file names of a run, and --force replaces only an earlier run folder or an
empty folder.
"""

from __future__ import annotations

import hashlib
import os

from conftest import write_site
from test_cli import DOC, PRICES, invoke


def digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_never_replaces_a_folder_of_inputs(tmp_path):
    site = write_site(tmp_path / "sites", PRICES, DOC)
    before = digest(tmp_path / "sites")
    for target in (tmp_path / "sites", tmp_path):
        code, _, err = invoke(["solve", str(site), "--out", str(target), "--force"])
        assert code == 1, err
        assert f"--out {target}: is a folder with other files in it, not an earlier run" in err
    assert digest(tmp_path / "sites") == before


def test_out_may_not_be_a_symlink_or_a_file(tmp_path):
    site = write_site(tmp_path, PRICES, DOC)
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / "link"), "--force"])
    assert code == 1 and "is a symbolic link" in err
    code, _, err = invoke(["solve", str(site), "--out", str(site), "--force"])
    assert code == 1 and "is a file, not a folder" in err


def test_input_paths_are_read_only_and_must_be_regular_files(tmp_path):
    outside = write_site(tmp_path / "shared", PRICES, DOC, site_id="other")
    site = write_site(tmp_path / "campus", PRICES, {**DOC, "prices": {"file": str(outside.parent / "other_prices.csv")}})
    before = digest(tmp_path / "shared")
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / "run")])
    assert code == 0, err  # an absolute path is read
    assert digest(tmp_path / "shared") == before  # and never written
    for name, message in (("/dev/zero", "is not a regular file"), (".", "is not a regular file"),
                          ("prices\t.csv", "is not a usable file name"), ("", "is not a usable file name")):
        bad = write_site(tmp_path / "bad", PRICES, {**DOC, "prices": {"file": name}})
        code, _, err = invoke(["validate", str(bad)])
        assert code == 1 and f"{bad}: prices.file: = {name!r} {message}" in err, err


def test_formula_like_text_from_a_site_file_stays_text(tmp_path):
    doc = {**DOC, "ai": {**DOC["ai"], "lease": [{"tenant": "=cmd|' /C calc'!A0", "rate_usd_per_kw_month": 100.0}]}}
    site = write_site(tmp_path, PRICES, doc)
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / "run")])
    assert code == 0, err
    assert "tiny,'=cmd|' /C calc'!A0," in (tmp_path / "run" / "leases.csv").read_text()
