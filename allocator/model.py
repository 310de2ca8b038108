"""The mullet LP: one ``add_*`` function per constraint family.

This is the only module that imports PuLP. The recipe, top to bottom:

1. ``add_variables``   -- a_l (lease IT MW), m_f (fleet IT MW kept), x_{f,t} (fleet IT MW running)
2. ``add_convertible`` -- sum_l a_l <= convertible_mw                          (MODEL 1)
3. ``add_run_limit``   -- x_{f,t} <= m_f                                        (MODEL 2)
4. ``add_halls``       -- pue_ai a + pue_m sum_f m_f <= facility_mw             (MODEL 3)
5. ``add_firm_ai``     -- pue_ai a <= c_t, every hour                           (MODEL 4)
6. ``add_grid_limit``  -- pue_ai u_t a + pue_m sum_f x_{f,t} <= c_t, every hour (MODEL 5)
7. ``add_uptime_sla``  -- sum_t x_{f,t} >= min_uptime H m_f                     (MODEL 6)
8. ``objective_terms`` -- net USD over the horizon

Lease bounds (MODEL 1) and fleet bounds (MODEL 2) are variable bounds; each
x_{f,t} also carries its implied bound min(mw_f, c_t / pue_m), which HiGHS
uses to presolve faster. Every site is an independent :class:`SiteBlock` with
the row and column indices of each family recorded, so later layers can add
coupling rows across blocks or change coefficients in place for a re-solve.
Data is vectorized with numpy; PuLP receives whole rows through its batch
calls (``from_list``, ``addConstraint``, ``lpSum_vars_coefs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pulp

from .hashprice import mining_revenue_usd_per_mwh
from .site import Site, crf

LE = pulp.const.LpConstraintLE
GE = pulp.const.LpConstraintGE


@dataclass
class SiteBlock:
    """The variables, rows and objective coefficients of one site.

    Attributes
    ----------
    site : Site
    lease : list
        a_l, IT MW leased to each tenant, in ``[[ai.lease]]`` order.
    fleet : list
        m_f, IT MW of each fleet kept installed, in ``[[mining.fleet]]`` order.
    run : list of list
        x_{f,t}, IT MW of fleet f running in hour t.
    rows : dict[str, np.ndarray]
        Row indices of each constraint family in the problem.
    lease_obj_usd_per_mw, fleet_obj_usd_per_mw, run_obj_usd_per_mw : np.ndarray
        Objective coefficients [USD per IT MW over the horizon; per IT MW-hour for run].
    lease_cols, fleet_cols, run_cols : np.ndarray
        Solver column of each variable (set by :func:`column_indices`; -1 if unused).
    """

    site: Site
    lease: list = field(default_factory=list)
    fleet: list = field(default_factory=list)
    run: list = field(default_factory=list)
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    lease_obj_usd_per_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fleet_obj_usd_per_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    run_obj_usd_per_mw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    lease_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fleet_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    run_cols: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


@dataclass
class LinearModel:
    """A PuLP problem with its site blocks and a running row count."""

    prob: pulp.LpProblem
    blocks: list[SiteBlock] = field(default_factory=list)
    n_rows: int = 0

    def add_rows(self, family: str, block: SiteBlock, exprs: list, names: list[str]) -> None:
        """Add rows (expressions with a sense) and record their indices under ``family``."""
        add = self.prob.addConstraint
        for expr, name in zip(exprs, names):
            add(expr, name)
        block.rows[family] = np.arange(self.n_rows, self.n_rows + len(exprs))
        self.n_rows += len(exprs)


def build(sites: list[Site], name: str = "mullet") -> LinearModel:
    """Build one LP holding every site as an independent block.

    Parameters
    ----------
    sites : list of Site
        Sites to place side by side (no coupling rows).
    name : str
        Problem name.
    """
    model = LinearModel(pulp.LpProblem(name, pulp.LpMaximize))
    for site in sites:
        model.blocks.append(add_site_block(model, site))
    set_objective(model)
    return model


def add_site_block(model: LinearModel, site: Site) -> SiteBlock:
    """Add one site's variables and constraint families; return its block."""
    block = add_variables(model.prob, site)
    add_convertible(model, block)
    add_run_limit(model, block)
    add_halls(model, block)
    add_firm_ai(model, block)
    add_grid_limit(model, block)
    add_uptime_sla(model, block)
    objective_terms(block)
    return block


# ------------------------------------------------------------------ variables


def add_variables(prob: pulp.LpProblem, site: Site) -> SiteBlock:
    """Create a_l, m_f and x_{f,t} with their bounds [IT MW]."""
    cfg = site.config
    sid = site.id
    block = SiteBlock(site=site)
    if site.has_ai:
        for i, lease in enumerate(cfg.ai.lease):
            block.lease.append(_variable(prob, f"lease__{sid}__{i}", lease.min_mw, cfg.lease_max_mw(lease)))
    hours = range(site.hours)
    pue_m = cfg.mining.pue
    for f, fleet in enumerate(cfg.mining.fleet):
        block.fleet.append(_variable(prob, f"fleet__{sid}__{f}", 0.0, fleet.mw))
        run = prob.add_variable_matrix(f"run__{sid}__{f}", hours, lowBound=0.0)
        implied_ub = np.minimum(fleet.mw, site.grid_cap_mw / pue_m).tolist()
        for var, ub in zip(run, implied_ub):
            var.upBound = ub
        block.run.append(run)
    return block


def _variable(prob: pulp.LpProblem, name: str, low: float, up: float):
    return prob.add_variable(name, lowBound=low, upBound=up)


# ------------------------------------------------------------ constraint families


def add_convertible(model: LinearModel, block: SiteBlock) -> None:
    """sum_l a_l <= convertible_mw [IT MW] (MODEL 1)."""
    if not block.lease:
        return
    ai = block.site.config.ai
    row = pulp.LpAffineExpression.from_list([(a, 1.0) for a in block.lease], constant=-ai.convertible_mw)
    row.sense = LE
    model.add_rows("convertible", block, [row], [f"convertible__{block.site.id}"])


def add_run_limit(model: LinearModel, block: SiteBlock) -> None:
    """x_{f,t} - m_f <= 0 for every fleet and hour [IT MW] (MODEL 2)."""
    sid = block.site.id
    from_list = pulp.LpAffineExpression.from_list
    for f, (m, run) in enumerate(zip(block.fleet, block.run)):
        exprs = []
        for x in run:
            row = from_list([(x, 1.0), (m, -1.0)])
            row.sense = LE
            exprs.append(row)
        names = [f"run_limit__{sid}__{f}__{t}" for t in range(len(run))]
        model.add_rows(f"run_limit__{f}", block, exprs, names)


def add_halls(model: LinearModel, block: SiteBlock) -> None:
    """pue_ai sum_l a_l + pue_m sum_f m_f <= facility_mw [grid MW] (MODEL 3)."""
    site = block.site
    terms = [(m, site.config.mining.pue) for m in block.fleet]
    if block.lease:
        terms += [(a, site.config.ai.pue) for a in block.lease]
    if not terms:
        return
    row = pulp.LpAffineExpression.from_list(terms, constant=-site.facility_mw)
    row.sense = LE
    model.add_rows("halls", block, [row], [f"halls__{site.id}"])


def add_firm_ai(model: LinearModel, block: SiteBlock) -> None:
    """pue_ai sum_l a_l <= c_t for every hour: AI is never curtailed [grid MW] (MODEL 4)."""
    if not block.lease:
        return
    site = block.site
    pue_ai = site.config.ai.pue
    from_list = pulp.LpAffineExpression.from_list
    terms = [(a, pue_ai) for a in block.lease]
    exprs = []
    for cap in site.grid_cap_mw.tolist():
        row = from_list(terms, constant=-cap)
        row.sense = LE
        exprs.append(row)
    names = [f"firm_ai__{site.id}__{t}" for t in range(site.hours)]
    model.add_rows("firm_ai", block, exprs, names)


def add_grid_limit(model: LinearModel, block: SiteBlock) -> None:
    """pue_ai u_t sum_l a_l + pue_m sum_f x_{f,t} <= c_t for every hour [grid MW] (MODEL 5)."""
    site = block.site
    if not block.lease and not block.run:
        return
    pue_m = site.config.mining.pue
    from_list = pulp.LpAffineExpression.from_list
    caps = site.grid_cap_mw.tolist()
    if block.lease:
        ai_coef = (site.config.ai.pue * site.ai_utilization_frac).tolist()
    else:
        ai_coef = [0.0] * site.hours
    leases = block.lease
    runs = block.run
    exprs = []
    for t in range(site.hours):
        terms = [(a, ai_coef[t]) for a in leases] + [(run[t], pue_m) for run in runs]
        row = from_list(terms, constant=-caps[t])
        row.sense = LE
        exprs.append(row)
    names = [f"grid_limit__{site.id}__{t}" for t in range(site.hours)]
    model.add_rows("grid_limit", block, exprs, names)


def add_uptime_sla(model: LinearModel, block: SiteBlock) -> None:
    """sum_t x_{f,t} - min_uptime H m_f >= 0 for every fleet [IT MWh] (MODEL 6)."""
    site = block.site
    frac = site.config.mining.min_uptime_frac
    if frac <= 0 or not block.fleet:
        return
    exprs = []
    for m, run in zip(block.fleet, block.run):
        row = pulp.lpSum_vars_coefs([(x, 1.0) for x in run] + [(m, -frac * site.hours)])
        row.sense = GE
        exprs.append(row)
    names = [f"uptime_sla__{site.id}__{f}" for f in range(len(block.fleet))]
    model.add_rows("uptime_sla", block, exprs, names)


# ------------------------------------------------------------------ objective


def objective_terms(block: SiteBlock) -> None:
    """Fill the block's objective coefficients (net USD over the horizon)."""
    site = block.site
    cfg = site.config
    years = site.horizon_years
    if block.lease:
        ai = cfg.ai
        rates = np.array([lease.rate_usd_per_kw_month for lease in ai.lease])
        fixed = (ai.fitout_capex_usd_per_mw * crf(ai.discount_rate_frac, ai.capex_life_years)
                 + ai.opex_usd_per_mw_year) * years
        power = 0.0
        if not ai.power_pass_through:
            power = float(np.dot(site.price_usd_per_mwh, site.ai_utilization_frac)) * ai.pue
        block.lease_obj_usd_per_mw = rates * 12000.0 * years - fixed - power
    m = cfg.mining
    block.fleet_obj_usd_per_mw = np.full(len(block.fleet), -m.opex_usd_per_mw_year * years)
    revenue = np.array([
        mining_revenue_usd_per_mwh(site.hashprice_usd_per_ph_day, m.pool_fee_frac, fleet.efficiency_j_per_th)
        for fleet in m.fleet
    ]).reshape(len(m.fleet), site.hours)
    block.run_obj_usd_per_mw = revenue - m.pue * site.price_usd_per_mwh[None, :]


def set_objective(model: LinearModel) -> None:
    """Maximize the sum of every block's net USD."""
    pairs: list = []
    for block in model.blocks:
        pairs += list(zip(block.lease, block.lease_obj_usd_per_mw.tolist()))
        pairs += list(zip(block.fleet, block.fleet_obj_usd_per_mw.tolist()))
        for run, coefs in zip(block.run, block.run_obj_usd_per_mw):
            pairs += list(zip(run, coefs.tolist()))
    model.prob.setObjective(pulp.lpSum_vars_coefs(pairs) if pairs else pulp.LpAffineExpression.empty())


def column_indices(model: LinearModel) -> None:
    """Record, on each block, the solver column of every variable (used variables only)."""
    col_of = {v.id: j for j, v in enumerate(model.prob.exported_variables())}

    def cols(variables: list) -> np.ndarray:
        return np.array([col_of.get(v.id, -1) for v in variables], dtype=np.int64)

    for block in model.blocks:
        block.lease_cols = cols(block.lease)
        block.fleet_cols = cols(block.fleet)
        block.run_cols = np.array([cols(run) for run in block.run], dtype=np.int64).reshape(
            len(block.run), block.site.hours
        )
