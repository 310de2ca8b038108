"""Every kind of conflict the model can have, explained in site terms (exit 2, nothing written).

The kinds (allocator/diagnosis.py): signed leases against ai.convertible_mw,
against the halls (facility_mw), against interconnect_mw, against a
curtailment cap. The uptime SLA is not a conflict: a fleet it cannot keep
running is not kept. Plus the solver-side reports: the IIS fallback, a
time limit, and an answer that breaks the model's rows.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from allocator import InfeasibleError, SolverError, load_site
from allocator import solve
from allocator.lp import model as model_mod
from conftest import REPO
from run_check import check_constraints
from test_cli import invoke
from test_fuzz import to_toml

solve_mod = importlib.import_module("allocator.lp.solve")  # the module; `allocator.solve` is the function


def write(tmp_path, doc: dict, *, hours: int = 48, start: str = "2024-08-20T00:00", tz: str = "America/Chicago",
          name: str = "odessa"):
    """A site file with hourly local-time prices from ``start`` (site time)."""
    index = __import__("pandas").date_range(start, periods=hours, freq="h", tz=tz)
    rows = [f"{t.isoformat()},{30.0 + 10.0 * (k % 5)}" for k, t in enumerate(index)]
    (tmp_path / "prices.csv").write_text("interval_start,price_usd_per_mwh\n" + "\n".join(rows) + "\n")
    full = {"site": {"timezone": tz, **doc.get("site", {})}, "prices": {"file": "prices.csv"},
            "mining": doc.get("mining", {"pue": 1.05, "hashprice_usd_per_ph_day": 48.0,
                                         "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 40.0}]})}
    for key in ("ai", "curtailment"):
        if key in doc:
            full[key] = doc[key]
    path = tmp_path / f"{name}.toml"
    path.write_text(to_toml(full))
    return path


def ai(*leases, convertible_mw: float = 200.0, pue: float = 1.2) -> dict:
    return {"pue": pue, "convertible_mw": convertible_mw,
            "lease": [{"tenant": t, "rate_usd_per_kw_month": 120.0, "min_mw": m, "max_mw": 200.0}
                      for t, m in leases]}


def infeasible(path) -> str:
    out = path.parent / "run"
    code, _, err = invoke(["solve", str(path), "--out", str(out)])
    assert code == 2, err
    assert err.startswith(f"error: site {path.stem!r} is infeasible")
    assert not out.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(".run")]
    return err


def test_lease_above_curtailment_cap_the_issue_example(tmp_path):
    path = write(tmp_path, {"site": {"interconnect_mw": 300.0},
                            "ai": ai(("Anchor", 100.0)),
                            "curtailment": [{"start": "2024-08-20T15:00", "end": "2024-08-20T21:00",
                                             "cap_mw": 90.0}]})
    err = infeasible(path)
    assert (f"{path}: ai.lease[0].min_mw: lease 'Anchor' (ai.lease[0].min_mw = 100) commits 100 MW IT x PUE 1.2 "
            f"= 120 MW of firm load, but curtailment[0] on 2024-08-20 15:00-21:00 CDT caps the site at 90 MW "
            f"(6 hours). Lower min_mw to <= 75.0 or remove the event or raise its cap_mw.") in err
    assert err.count("  - ") == 1  # the interconnect (300 MW) and the halls are fine


def test_lease_above_convertible(tmp_path):
    path = write(tmp_path, {"site": {"interconnect_mw": 300.0}, "ai": ai(("Anchor", 60.0), convertible_mw=50.0)})
    err = infeasible(path)
    assert ("lease 'Anchor' (ai.lease[0].min_mw = 60) commits 60 MW IT, but ai.convertible_mw = 50 MW IT is the "
            "most the halls can host after conversion. Lower min_mw to <= 50.0 or raise ai.convertible_mw.") in err


def test_lease_above_facility(tmp_path):
    path = write(tmp_path, {"site": {"interconnect_mw": 300.0, "facility_mw": 100.0}, "ai": ai(("Anchor", 90.0))})
    err = infeasible(path)
    assert ("commits 90 MW IT x PUE 1.2 = 108 MW of firm load, but the halls hold facility_mw = 100 MW. "
            "Lower min_mw to <= 83.3 or raise site.facility_mw.") in err
    assert err.count("  - ") == 1


def test_lease_above_interconnect(tmp_path):
    path = write(tmp_path, {"site": {"interconnect_mw": 100.0, "facility_mw": 200.0}, "ai": ai(("Anchor", 90.0))})
    err = infeasible(path)
    assert ("= 108 MW of firm load, but interconnect_mw caps the site at 100 MW in every hour. "
            "Lower min_mw to <= 83.3 or raise site.interconnect_mw.") in err


def test_smallest_set_of_leases_is_named_and_every_conflict_listed(tmp_path):
    path = write(tmp_path, {"site": {"interconnect_mw": 300.0, "facility_mw": 90.0},
                            "ai": ai(("Big", 50.0), ("Mid", 30.0), ("Small", 5.0), convertible_mw=60.0),
                            "curtailment": [{"start": "2024-08-21T02:00", "end": "2024-08-21T04:00",
                                             "cap_mw": 40.0}]})
    err = infeasible(path)
    lines = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(lines) == 3  # convertible, halls, curtailment; not the interconnect
    convertible, halls, event = lines
    # 50 + 30 = 80 > 60 already: 'Small' is not part of the conflict
    assert "leases 'Big' (ai.lease[0].min_mw = 50), 'Mid' (ai.lease[1].min_mw = 30) commit 80 MW IT" in convertible
    assert "'Small'" not in convertible
    assert "Lower min_mw to a total <= 60.0 over the 3 signed leases (now 85)" in convertible
    # halls: 90 / 1.2 = 75 IT MW; Big + Mid = 80 > 75
    assert "= 96 MW of firm load, but the halls hold facility_mw = 90 MW" in halls and "<= 75.0" in halls
    # the event: 40 / 1.2 = 33.3; Big alone (50) breaks it
    assert "lease 'Big' (ai.lease[0].min_mw = 50) commits 50 MW IT x PUE 1.2 = 60 MW" in event
    assert "curtailment[0] on 2024-08-21 02:00-04:00 CDT caps the site at 40 MW (2 hours)" in event
    assert "<= 33.3 over the 3 signed leases" in event


def test_uptime_sla_is_never_a_conflict_fleet_shrinks_instead(tmp_path):
    # firm AI 50 MW IT x 1.2 = 60 MW; a 70 MW cap for 12 hours leaves 10 MW for mining then;
    # an SLA of 100% uptime means the fleet can keep only what runs every hour: 10 MW IT (PUE 1.0)
    path = write(tmp_path, {
        "site": {"interconnect_mw": 100.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 60.0, "min_uptime_frac": 1.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 40.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 50.0, "utilization_frac": 1.0,
               "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 0.0, "min_mw": 50.0}]},
        "curtailment": [{"start": "2024-08-20T12:00", "end": "2024-08-21T00:00", "cap_mw": 70.0}]}, hours=24)
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(path), "--out", str(out)])
    assert code == 0, err
    site = load_site(path)
    check_constraints(site, out)
    split = __import__("pandas").read_csv(out / "split.csv").iloc[0]
    assert split.ai_it_mw == pytest.approx(50.0)
    assert split.mining_it_mw == pytest.approx(10.0, abs=1e-6)
    assert split.mining_uptime_frac == pytest.approx(1.0)


def test_iis_fallback_names_the_rows_in_site_terms(tmp_path, monkeypatch):
    path = write(tmp_path, {"site": {"interconnect_mw": 300.0}, "ai": ai(("Anchor", 100.0)),
                            "curtailment": [{"start": "2024-08-20T15:00", "end": "2024-08-20T16:00",
                                             "cap_mw": 90.0}]})
    site = load_site(path)
    monkeypatch.setattr(solve_mod.diagnosis, "conflicts", lambda site: [])
    lp = model_mod.build([site], name=site.id)
    with pytest.raises(InfeasibleError) as err:
        solve_mod.solve_model(lp)
    text = err.value.render()
    assert "the solver reports 'Infeasible'; these requirements cannot all hold together" in text
    assert "AI x PUE <= the grid cap at 2024-08-20 15:00 CDT" in text
    assert "lease 'Anchor' between min_mw = 100" in text


def test_time_limit_exits_2_with_the_status_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    # HiGHS's time limit (the cutting planes of --solver auto ignore it: they take milliseconds)
    code, _, err = invoke(["solve", str(REPO / "sites" / "west_texas.toml"), "--out", str(out),
                           "--solver", "highs", "--time-limit", "1e-9"])
    assert code == 2, err
    assert "error: the solver stopped early" in err
    assert "the time limit of 1e-09 s was reached (Time limit reached)" in err and "Raise --time-limit" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_answer_breaking_a_row_is_reported_not_written(tmp_path, monkeypatch):
    path = write(tmp_path, {"site": {"interconnect_mw": 100.0}, "ai": ai(("Anchor", 10.0))})
    real = solve_mod.check_accuracy

    def nudged(lp, h, sol):  # as if HiGHS had returned a plan 1% over the halls
        sol.col_value = list(np.asarray(sol.col_value) * 1.01 + 1.0)
        real(lp, h, sol)

    monkeypatch.setattr(solve_mod, "check_accuracy", nudged)
    with pytest.raises(SolverError) as err:
        solve([load_site(path)], solver="highs")
    text = err.value.render()
    assert text.startswith("error: the solver's answer is not accurate")
    assert "HiGHS called the plan optimal, but it breaks row" in text and "numerically troubled" in text
    assert err.value.exit_code == 2


def test_unbounded_or_unknown_status_is_exit_2_naming_the_status(tmp_path, monkeypatch):
    import highspy

    path = write(tmp_path, {"site": {"interconnect_mw": 100.0}, "ai": ai(("Anchor", 10.0))})
    site = load_site(path)
    for status, expected in ((highspy.HighsModelStatus.kUnbounded, "every variable of the model is bounded"),
                             (highspy.HighsModelStatus.kUnknown, "the solver returned 'Unknown'")):
        monkeypatch.setattr(highspy.Highs, "getModelStatus", lambda self, s=status: s)
        with pytest.raises(SolverError) as err:
            solve([site])
        assert err.value.exit_code == 2 and expected in err.value.render()
        assert err.value.render().startswith("error: the solver failed (")
