"""Portfolios: several campuses in one LP, coupled by shared rows (``--portfolio portfolio.toml``).

Coupling rows (block ``None`` in :meth:`LinearModel.add_rows`):

- ``tenant__<name>``: a tenant's IT MW over its eligible sites,
  ``min_mw <= sum_s a_{T,s} <= max_mw`` (per year in plan mode, inside its lease window).
  Each eligible site hosts the tenant as one more lease at the portfolio's rate, with the
  site's own fit-out capex, PUE, halls and grid rows.
- ``capex_budget``: sum over sites of fit-out capex of the AI IT MW converted
  (plus ASIC purchases in plan mode) <= capex_budget_usd (per year in plan mode).
- ``min_hashrate``: sum over sites and fleets of installed IT MW x 1000 / e_f >= min_hashrate_ph.

The budget row's dual is the value of one more USD of capex [USD of objective per USD].
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..errors import InfeasibleError, InputError, Problem
from ..file_hash import sha256_file
from ..inputs.hashprice import ph_per_mw
from ..inputs.schema import Lease, _problem_from_error, read_toml
from ..inputs.site import Site, load_site
from ..lp import diagnosis, model, results
from ..lp.decomposition import CouplingRow
from ..lp.solve import Solution, pick_solver, solve_model, solver_version
from .data import lease_window
from .schema import PortfolioFile

INF = np.inf


def load_portfolio(path: str | Path) -> PortfolioFile:
    """Read and validate ``portfolio.toml``; raise :class:`InputError` listing every problem."""
    path = Path(path)
    where = str(path)
    raw = read_toml(path, "Check the --portfolio path.")
    try:
        return PortfolioFile.model_validate(raw)
    except ValidationError as err:
        problems: list[Problem] = []
        for e in err.errors():
            problem = _problem_from_error(where, e, PortfolioFile)
            if all(p.where != problem.where for p in problems):  # a union field fails once per branch
                problems.append(problem)
        raise InputError(problems, where) from None


def with_tenants(sites: list[Site], pf: PortfolioFile, where: str, plan_mode: bool = False) -> list[Site]:
    """Each site with the portfolio's tenants it is eligible for appended as leases (min 0, max the tenant's)."""
    ids = [s.id for s in sites]
    problems: list[Problem] = []
    names = [t.tenant for t in pf.tenant]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(f"{where}: tenant", f"tenant {name!r} appears twice.", "Give each tenant its own name."))
    out = []
    by_id = {s.id: s for s in sites}
    for i, t in enumerate(pf.tenant):
        for sid in t.sites:
            site = by_id.get(sid)
            if site is None:
                problems.append(Problem(f"{where}: tenant[{i}].sites", f"site {sid!r} is not among the sites given "
                                        f"({', '.join(ids)}).", "Add its site file to the command line or remove it."))
            elif site.config.ai is None:
                problems.append(Problem(f"{where}: tenant[{i}].sites", f"site {sid!r} has no [ai] table, so it cannot "
                                        "host a tenant.", f"Add an [ai] table (pue, convertible_mw) to {site.path}."))
            elif t.tenant in [lease.tenant for lease in site.config.ai.lease]:
                problems.append(Problem(f"{where}: tenant[{i}].tenant", f"{t.tenant!r} is already a lease of {sid!r}.",
                                        "Rename the portfolio tenant or remove the site's lease."))
    for i, t in enumerate(pf.tenant):
        room = sum(by_id[sid].config.ai.convertible_mw for sid in t.sites
                   if sid in by_id and by_id[sid].config.ai is not None)
        if t.min_mw > room + 1e-9:
            problems.append(Problem(f"{where}: tenant[{i}].min_mw", f"= {t.min_mw:g} IT MW exceeds the convertible "
                                    f"IT MW of its eligible sites ({room:g}).",
                                    f"Lower min_mw to <= {room:g} or add eligible sites."))
    budget = pf.capex_budget_usd
    if plan_mode and isinstance(budget, list):
        years = {len(s.config.plan.years) for s in sites if s.config.plan is not None}
        if any(len(budget) != n for n in years):
            problems.append(Problem(f"{where}: capex_budget_usd", f"has {len(budget)} values but the plan has "
                                    f"{sorted(years)} years.", "Give one value per plan year, or one for every year."))
    if plan_mode:
        spans = {(s.config.plan.start_year, s.config.plan.end_year) for s in sites if s.config.plan is not None}
        if len(spans) > 1:
            problems.append(Problem(f"{where}", f"the sites' [plan] horizons differ ({sorted(spans)}); a portfolio "
                                    "shares yearly rows.", "Give every site the same start_year and end_year."))
    elif isinstance(budget, list):
        problems.append(Problem(f"{where}: capex_budget_usd", "a list (one budget per year) only applies to "
                                "`allocator plan`.", "Give one number for `allocator solve`."))
    if not plan_mode:
        problems += _horizon_problems(sites, pf, where)
    if problems:
        raise InputError(problems, where)
    for site in sites:
        extra = [Lease(tenant=t.tenant, rate_usd_per_kw_month=t.rate_usd_per_kw_month, min_mw=0.0, max_mw=t.max_mw)
                 for t in pf.tenant if site.id in t.sites]
        if not extra:
            out.append(site)
            continue
        ai = site.config.ai.model_copy(update={"lease": [*site.config.ai.lease, *extra]})
        out.append(dataclasses.replace(site, config=site.config.model_copy(update={"ai": ai})))
    return out


def _horizon_problems(sites: list[Site], pf: PortfolioFile, where: str) -> list[Problem]:
    """Shared rows need one horizon: a site's lease revenue, opex and annualized capex are prorated by its
    hours, so sites of different lengths would trade a budget or a tenant in different currencies."""
    coupled = pf.capex_budget_usd is not None or pf.min_hashrate_ph > 0 or bool(pf.tenant)
    lengths = {s.hours for s in sites}
    if not coupled or len(lengths) <= 1:
        return []
    shown = "; ".join(f"{s.id}: {s.hours:,} hours from {s.index[0]:%Y-%m-%d %H:%M} UTC" for s in sites)
    return [Problem(where, f"the sites' horizons differ ({shown}); the portfolio's shared rows compare their "
                           "amounts over one horizon, and each site's are prorated by its own hours.",
                    "Give every site the same prices.start and prices.end (or price files of the same span), "
                    "or solve the sites apart.")]


def tenant_windows(pf: PortfolioFile, plan) -> dict[str, tuple[int, int]]:
    """Lease windows of the portfolio tenants in plan mode."""
    return {t.tenant: lease_window(plan, t.tenant, t.start_year, t.term_years) for t in pf.tenant}


def _tenant_col(block, tenant: str, lease_cols: np.ndarray):
    names = [lease.tenant for lease in block.site.config.ai.lease] if block.site.config.ai else []
    return lease_cols[names.index(tenant)] if tenant in names else None


# ------------------------------------------------------------------ solve mode


def shared_rows(blocks, pf: PortfolioFile) -> list[CouplingRow]:
    """The shared rows of a one-year portfolio over ``blocks`` (one per site), on each block's columns."""
    rows = []
    for t in pf.tenant:
        cols = [np.array([] if (c := _tenant_col(b, t.tenant, b.lease_cols)) is None else [c], np.int64)
                for b in blocks]
        rows.append(CouplingRow(f"tenant__{t.tenant}", t.max_mw, cols, [np.ones(c.size) for c in cols], t.min_mw))
    if pf.capex_budget_usd is not None:
        rows.append(CouplingRow("capex_budget", pf.capex_budget_usd, [b.lease_cols for b in blocks],
                                [np.full(b.lease_cols.size, b.site.config.ai.fitout_capex_usd_per_mw
                                         if b.lease_cols.size else 0.0) for b in blocks], -INF))
    if pf.min_hashrate_ph > 0:
        rows.append(CouplingRow("min_hashrate", INF, [b.fleet_cols for b in blocks],
                                [np.array([ph_per_mw(f.efficiency_j_per_th) for f in b.site.config.mining.fleet],
                                          float) for b in blocks], pf.min_hashrate_ph))
    return rows


def add_coupling(lp: model.LinearModel, pf: PortfolioFile) -> dict[str, np.ndarray]:
    """The shared rows of a one-year portfolio; return their row indices by name."""
    rows: dict[str, np.ndarray] = {}
    for r in shared_rows(lp.blocks, pf):
        if r.name == "capex_budget" and r.empty:
            continue  # no site converts anything: nothing to budget
        rows[r.name] = lp.add_rows(r.name, None, r.lower, r.upper, 0, np.concatenate(r.cols), np.concatenate(r.coefs))
    return rows


#: how ``solve_portfolio`` solves: pick (auto), every site in one LP, or the exact decomposition
METHODS = ("auto", "one_lp", "decomposition")
#: auto decomposes from this many sites. One LP against the decomposition, campus site-years:
#: 2 sites 1.1 vs 1.3 s; 3 sites 3.9 vs 2.0 s, but 0.9 vs 1.9 s for the bundled campuses plus a
#: copy of west_texas; 4 sites 3.1 vs 2.5 s; 5 sites 8.1 vs 2.8 s; 6 sites 15.8 vs 4.2 s
DECOMPOSE_FROM_SITES = 4


def decomposable(pf: PortfolioFile) -> bool:
    """True when the portfolio shares exactly one ``<=`` row: a capex budget alone, or one tenant with min_mw 0."""
    if pf.min_hashrate_ph > 0:
        return False
    n_rows = len(pf.tenant) + (pf.capex_budget_usd is not None)
    return n_rows == 1 and all(t.min_mw <= 0 for t in pf.tenant)


def solve_portfolio(sites: list[Site | str | Path], portfolio: str | Path, *, solver: str = "highs",
                    time_limit_s: float | None = None, method: str = "auto"):
    """Solve several sites with the portfolio's shared rows; return a :class:`allocator.Result`.

    The result carries two more tables, ``placements`` (tenant MW per site) and
    ``shadow_prices`` (the dual of each shared row), written as ``tenants.csv``
    and ``coupling_prices.csv``. ``method="auto"`` solves a portfolio that shares
    one ``<=`` row (a capex budget alone, or one tenant with ``min_mw = 0``) by the
    exact decomposition of :mod:`allocator.lp.decomposition`, one site at a time, when
    it has at least ``DECOMPOSE_FROM_SITES`` sites, and anything else as one LP; both
    give the same optimum. ``result.manifest_extra``
    records the method used.
    """
    if method not in METHODS:
        raise InputError([Problem("method", f"unknown portfolio method {method!r}.", f"Use one of {', '.join(METHODS)}.")],
                         "--portfolio")
    seconds = dict.fromkeys(("load", "build", "handoff", "solve", "marginal", "extract"), 0.0)
    t0 = time.perf_counter()
    pf = load_portfolio(portfolio)
    loaded = [s if isinstance(s, Site) else load_site(s) for s in sites]
    loaded = with_tenants(loaded, pf, str(portfolio))
    seconds["load"] = time.perf_counter() - t0
    if solver == "auto":  # the shared rows couple the sites: outside the structured solver's cutting planes
        solver = "highs"
    if solver != "highs":
        raise InputError([Problem("--solver", "a portfolio is solved with HiGHS only (its rows are two-sided).",
                                  "Use --solver auto (the default) or highs.")], "--portfolio")
    if method == "decomposition" and not decomposable(pf):
        raise InputError([Problem(str(portfolio), "the decomposition needs exactly one shared <= row (a capex budget "
                                  "alone, or one tenant with min_mw = 0) and no min_hashrate_ph.",
                                  "Use method 'one_lp' or 'auto'.")], "--portfolio")
    pick_solver(solver)
    for site in loaded:
        problems = diagnosis.conflicts(site)
        if problems:
            raise InfeasibleError(problems, site.id)
    if method == "decomposition" or (method == "auto" and decomposable(pf) and len(loaded) >= DECOMPOSE_FROM_SITES):
        solved, duals, used = _solve_decomposed(loaded, pf, str(portfolio), time_limit_s, seconds)
    else:
        solved, duals, used = _solve_one_lp(loaded, pf, str(portfolio), time_limit_s, seconds)
    result = results.Result(solved, solver_version(solver), seconds)
    result.placements = solve_placements(solved, pf)
    result.shadow_prices = coupling_table(duals, None)
    result.manifest_extra = {"portfolio": manifest_entry(pf, portfolio),
                             "portfolio_sha256": {str(portfolio): sha256_file(Path(portfolio))[0]},
                             "portfolio_method": used}
    return result


def _solve_one_lp(loaded: list[Site], pf: PortfolioFile, where: str, time_limit_s: float | None,
                  seconds: dict[str, float]):
    t1 = time.perf_counter()
    lp = model.build(loaded, name="portfolio")
    coupling = add_coupling(lp, pf)
    seconds["build"] = time.perf_counter() - t1
    sol = solve_coupled(lp, pf, where, time_limit_s=time_limit_s)
    seconds["handoff"], seconds["solve"] = sol.seconds["handoff"], sol.seconds["solve"]
    t2 = time.perf_counter()
    solved = [results.site_solution(b, sol, lp=lp) for b in lp.blocks]
    results.check_adds_up(sum(s.financials_usd["net"] for s in solved), sol.objective_usd, "portfolio")
    seconds["marginal"] = sol.seconds.get("marginal", 0.0)
    seconds["extract"] = time.perf_counter() - t2 - seconds["marginal"]
    return solved, row_duals(coupling, sol), "one LP"


def _solve_decomposed(loaded: list[Site], pf: PortfolioFile, where: str, time_limit_s: float | None,
                      seconds: dict[str, float]):
    """Each site its own LP, the one shared row priced until its optimal dual (decomposition.py)."""
    from ..lp.decomposition import solve_coupled as solve_priced

    t1 = time.perf_counter()
    lps = [model.build([site], name=site.id) for site in loaded]
    (shared,) = shared_rows([lp.blocks[0] for lp in lps], pf)
    seconds["build"] = time.perf_counter() - t1
    try:
        dec = solve_priced(lps, shared, time_limit_s=time_limit_s)
    except InfeasibleError as err:
        raise portfolio_infeasible(pf, where, err.problems[0].message) from None
    seconds["handoff"] = dec.seconds["build"]
    seconds["solve"] = dec.seconds["first_solve"] + dec.seconds["rounds"]
    t2 = time.perf_counter()
    solved = [results.site_solution(lp.blocks[0], sol, lp=lp) for lp, sol in zip(lps, dec.solutions)]
    results.check_adds_up(sum(s.financials_usd["net"] for s in solved), dec.objective_usd, "portfolio")
    seconds["marginal"] = sum(s.seconds.get("marginal", 0.0) for s in dec.solutions)
    seconds["extract"] = time.perf_counter() - t2 - seconds["marginal"]
    dual = 0.0 if shared.empty else dec.dual
    return solved, {shared.name: [dual]}, f"decomposition ({dec.rounds} prices of {shared.name})"


def solve_coupled(lp: model.LinearModel, pf: PortfolioFile, where: str, **kw) -> Solution:
    """Solve a coupled LP; an infeasible one names the portfolio's hard requirements."""
    try:
        return solve_model(lp, **kw)
    except InfeasibleError:
        raise portfolio_infeasible(pf, where) from None


def portfolio_infeasible(pf: PortfolioFile, where: str, detail: str = "") -> InfeasibleError:
    """The sites cannot meet the portfolio's hard requirements together (exit 2)."""
    hard = [f"tenant {t.tenant!r} min_mw = {t.min_mw:g}" for t in pf.tenant if t.min_mw > 0]
    if pf.min_hashrate_ph > 0:
        hard.append(f"min_hashrate_ph = {pf.min_hashrate_ph:g}")
    if pf.capex_budget_usd is not None:
        hard.append(f"capex_budget_usd = {pf.capex_budget_usd}")
    return InfeasibleError([Problem(where, "the sites cannot meet the portfolio's shared requirements together "
                                    f"({'; '.join(hard) or 'none'}) along with each site's signed leases"
                                    + (f": {detail}" if detail else "."),
                                    "Lower a minimum, raise the budget, or add sites.")], pf.name)


def solve_placements(solved: list[results.SiteSolution], pf: PortfolioFile) -> pd.DataFrame:
    """tenant, site_id, it_mw, fitout_capex_usd: where each portfolio tenant's MW went."""
    rows = []
    for t in pf.tenant:
        for s in solved:
            names = [lease.tenant for lease in s.site.config.ai.lease] if s.site.config.ai else []
            if t.tenant in names:
                mw = float(s.lease_mw[names.index(t.tenant)])
                rows.append({"tenant": t.tenant, "site_id": s.site.id, "it_mw": mw,
                             "fitout_capex_usd": mw * s.site.config.ai.fitout_capex_usd_per_mw})
    return pd.DataFrame(rows, columns=["tenant", "site_id", "it_mw", "fitout_capex_usd"])


def row_duals(coupling: dict[str, np.ndarray], sol: Solution) -> dict[str, list[float]]:
    """The solution's dual of every shared row, by row name."""
    return {name: [float(sol.row_dual[i]) if len(sol.row_dual) else 0.0 for i in idx]
            for name, idx in coupling.items()}


def coupling_table(duals: dict[str, list[float]], years: list[int] | None) -> pd.DataFrame:
    """constraint, year, shadow_price, unit, usd_per_1m_usd_capex: the dual of every shared row.

    Duals are d(objective)/d(bound): for ``capex_budget`` the USD of objective (net USD
    over the horizon in solve mode, NPV in plan mode) one more USD of budget is worth.
    """
    units = {"capex_budget": "usd_per_usd", "min_hashrate": "usd_per_ph"}
    rows = []
    for name, values in duals.items():
        for k, dual in enumerate(values):
            dual = 0.0 if abs(dual) < 1e-9 else dual
            rows.append({"constraint": name, "year": years[k] if years else pd.NA, "shadow_price": dual,
                         "unit": units.get(name, "usd_per_it_mw"),
                         "usd_per_1m_usd_capex": dual * 1e6 if name == "capex_budget" else pd.NA})
    return pd.DataFrame(rows, columns=["constraint", "year", "shadow_price", "unit", "usd_per_1m_usd_capex"])


def manifest_entry(pf: PortfolioFile, path) -> dict:
    return {"file": str(path) if path is not None else None, **pf.model_dump()}


# ------------------------------------------------------------------ plan mode


def add_plan_coupling(lp: model.LinearModel, blocks, pf: PortfolioFile, convert: bool) -> dict[str, np.ndarray]:
    """The shared rows of a plan portfolio, one per year; return their row indices by name."""
    rows: dict[str, np.ndarray] = {}
    n_y = len(blocks[0].data.years)
    years = np.array([y.year for y in blocks[0].data.years])
    local = np.arange(n_y)
    for t in pf.tenant:
        cols = [c for b in blocks if (c := _tenant_col(b, t.tenant, b.cols["lease"])) is not None]
        first, last = lease_window(blocks[0].data.plan, t.tenant, t.start_year, t.term_years)
        inside = (years >= first) & (years <= last)
        lower = np.where(inside & convert, t.min_mw, 0.0)
        upper = np.where(inside, t.max_mw, 0.0)
        rows[f"tenant__{t.tenant}"] = lp.add_rows(
            f"tenant__{t.tenant}", None, lower, upper, np.tile(local, len(cols)),
            np.concatenate(cols) if cols else np.zeros(0, np.int64), 1.0)
    if pf.capex_budget_usd is not None:
        budget = np.broadcast_to(np.asarray(pf.capex_budget_usd, float), (n_y,))
        r, c, v = [], [], []
        for b in blocks:
            fitout = b.site.config.ai.fitout_capex_usd_per_mw if b.site.config.ai else 0.0
            r.append(local)
            c.append(b.cols["build"])
            v.append(np.full(n_y, fitout))
            offers = [f for f in b.fleets if f.offer]
            for o, f in enumerate(offers):
                r.append(local)
                c.append(b.cols["buy"][o])
                v.append(np.full(n_y, f.capex_usd_per_mw))
        rows["capex_budget"] = lp.add_rows("capex_budget", None, -INF, budget, np.concatenate(r),
                                           np.concatenate(c), np.concatenate(v))
    if pf.min_hashrate_ph > 0:
        r, c, v = [], [], []
        for b in blocks:
            ph = np.array([ph_per_mw(f.efficiency_j_per_th) for f in b.fleets], float)
            kept = b.cols["kept"]
            r.append(np.broadcast_to(local, kept.shape).ravel())
            c.append(kept.ravel())
            v.append(np.repeat(ph, n_y))
        rows["min_hashrate"] = lp.add_rows("min_hashrate", None, np.full(n_y, pf.min_hashrate_ph), INF,
                                           np.concatenate(r), np.concatenate(c), np.concatenate(v))
    return rows


def plan_placements(plans, pf: PortfolioFile) -> pd.DataFrame:
    """tenant, site_id, year, it_mw: where each portfolio tenant's MW went, per year."""
    rows = []
    for t in pf.tenant:
        for s in plans:
            b = s.block
            if t.tenant in b.tenants:
                j = b.tenants.index(t.tenant)
                fitout = b.site.config.ai.fitout_capex_usd_per_mw
                for i, y in enumerate(b.data.years):
                    mw = s.lease_mw[j, i]
                    rows.append({"tenant": t.tenant, "site_id": b.site.id, "year": y.year, "it_mw": mw,
                                 "fitout_capex_usd_per_mw": fitout})
    return pd.DataFrame(rows, columns=["tenant", "site_id", "year", "it_mw", "fitout_capex_usd_per_mw"])
