"""A site with one MW field moved (the one-sided marginal values' re-solves), built without re-validating
the whole file, against the same site file validated whole with that field changed."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from allocator.inputs.schema import SiteFile
from allocator.inputs.site import _grid_cap, load_site
from allocator.lp.one_sided import field_value, moved_site, resource_fields

REPO = Path(__file__).resolve().parents[1]


def validated_whole(site, path: str, value: float):
    """The reference: the site file as a dict, the field set, the whole file validated again."""
    raw = site.config.model_dump(exclude_unset=True)
    m = re.fullmatch(r"ai\.lease\[(\d+)\]\.(min_mw|max_mw)", path)
    if m:
        raw["ai"]["lease"][int(m.group(1))][m.group(2)] = value
    else:
        table, name = path.split(".")
        raw[table][name] = value
    try:
        config = SiteFile.model_validate(raw)
    except ValidationError:
        return None
    if config.ai is not None and any(lease.min_mw > config.lease_max_mw(lease) for lease in config.ai.lease):
        return None
    problems: list = []
    cap = _grid_cap(config, site.index, str(site.path), problems)
    return None if problems else dataclasses.replace(site, config=config, grid_cap_mw=cap)


def variants(site):
    """The bundled site, and copies with defaults left out (facility_mw, convertible_mw, max_mw)."""
    yield site
    raw = site.config.model_dump(exclude_unset=True)
    raw["site"].pop("facility_mw", None)
    if "ai" in raw:
        raw["ai"].pop("convertible_mw", None)
        for lease in raw["ai"]["lease"]:
            lease.pop("max_mw", None)
    yield dataclasses.replace(site, config=SiteFile.model_validate(raw))


@pytest.mark.parametrize("name", ["west_texas", "permian_hybrid"])
def test_every_move_is_the_whole_file_validated_again(name):
    checked = 0
    for site in variants(load_site(REPO / "sites" / f"{name}.toml")):
        for _, path in resource_fields(site.config):
            v = field_value(site.config, path)
            for value in (v + 1e-3, v - 1e-3, v + 0.1, v - 0.1, v - 1e-6, 0.0, 1e-4, -1.0, -1e-3, 99_999.0,
                          100_000.0, 100_000.5, float("nan"), float("inf"), v * 2, v / 2, 1.0):
                got, want = moved_site(site, path, value), validated_whole(site, path, value)
                assert (got is None) == (want is None), (path, value)
                if want is None:
                    continue
                assert got.config.model_dump() == want.config.model_dump(), (path, value)
                assert got.config.model_dump(exclude_unset=True) == want.config.model_dump(exclude_unset=True)
                np.testing.assert_array_equal(got.grid_cap_mw, want.grid_cap_mw)
                checked += 1
    assert checked > 100


def test_the_base_site_is_left_as_it_was():
    site = load_site(REPO / "sites" / "permian_hybrid.toml")
    before = site.config.model_dump(), site.config.model_dump(exclude_unset=True), site.grid_cap_mw.copy()
    for _, path in resource_fields(site.config):
        moved_site(site, path, field_value(site.config, path) + 0.5)
    assert (site.config.model_dump(), site.config.model_dump(exclude_unset=True)) == before[:2]
    np.testing.assert_array_equal(site.grid_cap_mw, before[2])
