"""The mullet LP: one ``add_*`` function per constraint family, fed whole numpy arrays.

The recipe, top to bottom:

1. ``add_variables``   -- a_l (lease IT MW), m_f (fleet IT MW kept), x_{f,t} (fleet IT MW running),
                          with bounds and objective coefficients (net USD over the horizon)
2. ``add_convertible`` -- sum_l a_l <= convertible_mw                          (MODEL 1)
3. ``add_run_limit``   -- x_{f,t} <= m_f                                        (MODEL 2)
4. ``add_halls``       -- pue_ai a + pue_m sum_f m_f <= facility_mw             (MODEL 3)
5. ``add_firm_ai``     -- pue_ai a <= c_t, every hour                           (MODEL 4)
6. ``add_grid_limit``  -- pue_ai u_t a + pue_m sum_f x_{f,t} <= c_t, every hour (MODEL 5)
7. ``add_uptime_sla``  -- sum_t x_{f,t} >= min_uptime H m_f                     (MODEL 6)

Lease bounds (MODEL 1) and fleet bounds (MODEL 2) are variable bounds; each
x_{f,t} also carries its implied bound min(mw_f, c_t / pue_m), which HiGHS
uses to presolve faster.

A :class:`LinearModel` is a column store plus a list of row blocks in
coordinate form: each family adds its rows as arrays ``(row, col, coef)`` with
row bounds, so building one site-year costs a few numpy calls, not a Python
object per term. :mod:`allocator.lp.matrix` assembles the compressed-column
matrix that HiGHS takes in one ``passModel`` call. Every site is an
independent :class:`SiteBlock` recording the column and row indices of each
family, so later layers can add coupling rows across blocks (portfolios,
plans) or change costs and bounds in place for a re-solve (sweeps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..inputs.hashprice import mining_revenue_usd_per_mwh
from ..inputs.site import Site, crf
from .extensions import EXTENSIONS

INF = np.inf


@dataclass
class SiteBlock:
    """The columns and rows of one site.

    Attributes
    ----------
    site : Site
    lease_cols : np.ndarray
        (L,) column of a_l, IT MW leased to each tenant, in ``[[ai.lease]]`` order.
    fleet_cols : np.ndarray
        (F,) column of m_f, IT MW of each fleet kept installed, in ``[[mining.fleet]]`` order.
    run_cols : np.ndarray
        (F, H) column of x_{f,t}, IT MW of fleet f running in hour t.
    rows : dict[str, np.ndarray]
        Row indices of each constraint family in the model.
    cols : dict[str, np.ndarray]
        Column indices of each variable family (``lease``, ``fleet``, ``run`` and any an
        extension adds).
    """

    site: Site
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def lease_cols(self) -> np.ndarray:
        return self.cols.get("lease", np.zeros(0, dtype=np.int64))

    @property
    def fleet_cols(self) -> np.ndarray:
        return self.cols.get("fleet", np.zeros(0, dtype=np.int64))

    @property
    def run_cols(self) -> np.ndarray:
        return self.cols.get("run", np.zeros((0, self.site.hours), dtype=np.int64))


@dataclass
class RowBlock:
    """Rows added by one call of :meth:`LinearModel.add_rows`, in coordinate form."""

    lower: np.ndarray
    upper: np.ndarray
    row: np.ndarray   # global row index of each nonzero
    col: np.ndarray   # column of each nonzero
    coef: np.ndarray  # value of each nonzero


class LinearModel:
    """A maximization LP held as numpy arrays, with its site blocks.

    Parameters
    ----------
    name : str
        Problem name (used in exported LP files and messages).
    """

    def __init__(self, name: str = "mullet") -> None:
        self.name = name
        self.blocks: list[SiteBlock] = []
        self.n_cols = 0
        self.n_rows = 0
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._cost: list[np.ndarray] = []
        self._row_blocks: list[RowBlock] = []
        self._arrays: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------ building

    def add_columns(self, lower, upper, cost) -> np.ndarray:
        """Add columns with bounds and objective coefficients; return their indices.

        The three arguments broadcast to one shape; the returned index array has it.
        """
        lower, upper, cost = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float),
                                                 np.asarray(cost, float))
        idx = np.arange(self.n_cols, self.n_cols + lower.size, dtype=np.int64).reshape(lower.shape)
        self._lower.append(lower.ravel().copy())
        self._upper.append(upper.ravel().copy())
        self._cost.append(cost.ravel().copy())
        self.n_cols += lower.size
        self._arrays = None
        return idx

    def add_rows(self, family: str, block: SiteBlock | None, lower, upper, row, col, coef) -> np.ndarray:
        """Add ``len(lower)`` rows ``lower <= sum coef * x[col] <= upper``; return their indices.

        Parameters
        ----------
        family : str
            Constraint family; the indices are recorded as ``block.rows[family]``.
        block : SiteBlock or None
            Owning site (None for coupling rows across sites).
        lower, upper : array_like
            Row bounds (``-inf``/``inf`` for one-sided rows), broadcast to the row count.
        row, col, coef : array_like
            Nonzeros: local row number (0-based within this call), column, coefficient.
        """
        lower, upper = np.broadcast_arrays(np.atleast_1d(np.asarray(lower, float)),
                                           np.atleast_1d(np.asarray(upper, float)))
        n = lower.size
        row, col, coef = np.broadcast_arrays(np.asarray(row, np.int64).ravel(), np.asarray(col, np.int64).ravel(),
                                             np.asarray(coef, float).ravel())
        keep = coef != 0.0
        self._row_blocks.append(RowBlock(lower.copy(), upper.copy(), row[keep] + self.n_rows, col[keep].copy(),
                                         coef[keep].copy()))
        idx = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        if block is not None:
            block.rows[family] = idx
        self.n_rows += n
        self._arrays = None
        return idx

    def fix_columns(self, cols, value) -> None:
        """Fix columns ``cols`` at ``value`` (lower = upper bound), e.g. an installed split.

        Parameters
        ----------
        cols : array_like of int
            Global column indices.
        value : array_like
            Value of each column, broadcast to ``cols`` [the columns' unit, IT MW for a split].
        """
        cols, value = np.broadcast_arrays(np.asarray(cols, np.int64).ravel(), np.asarray(value, float).ravel())
        lower, upper = np.concatenate(self._lower), np.concatenate(self._upper)
        lower[cols], upper[cols] = value, value
        self._lower, self._upper = [lower], [upper]
        self._cost = [np.concatenate(self._cost)]
        self._arrays = None

    # ------------------------------------------------------------ reading

    def arrays(self) -> dict[str, np.ndarray]:
        """Column bounds and costs, row bounds and the nonzeros in coordinate form (cached)."""
        if self._arrays is None:
            def cat(parts, dtype=float):
                return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

            rb = self._row_blocks
            self._arrays = {
                "col_lower": cat(self._lower), "col_upper": cat(self._upper), "col_cost": cat(self._cost),
                "row_lower": cat([b.lower for b in rb]), "row_upper": cat([b.upper for b in rb]),
                "row": cat([b.row for b in rb], np.int64), "col": cat([b.col for b in rb], np.int64),
                "coef": cat([b.coef for b in rb]),
            }
        return self._arrays

    def row_owner(self, i: int) -> tuple[SiteBlock | None, str, int]:
        """The block, family and position within the family of row ``i``."""
        for block in self.blocks:
            for family, idx in block.rows.items():
                if idx.size and idx[0] <= i <= idx[-1]:
                    return block, family, int(i - idx[0])
        return None, "coupling", i

    @property
    def prob(self):
        """The same LP as a PuLP problem (for CBC and LP-file export; slow at scale)."""
        from .matrix import to_pulp

        return to_pulp(self)


# ------------------------------------------------------------------ building


def build(sites: list[Site], name: str = "mullet") -> LinearModel:
    """Build one LP holding every site as an independent block.

    Parameters
    ----------
    sites : list of Site
        Sites to place side by side (no coupling rows).
    name : str
        Problem name.
    """
    lp = LinearModel(name)
    for site in sites:
        lp.blocks.append(add_site_block(lp, site))
    return lp


def add_site_block(lp: LinearModel, site: Site) -> SiteBlock:
    """Add one site's variables and constraint families; return its block."""
    block = add_variables(lp, site)
    add_convertible(lp, block)
    add_run_limit(lp, block)
    add_halls(lp, block)
    add_firm_ai(lp, block)
    add_grid_limit(lp, block)
    add_uptime_sla(lp, block)
    for extension in EXTENSIONS.values():  # power contracts, 4CP, demand response (allocator/power)
        extension.add_rows(lp, block)
    return block


# ------------------------------------------------------------------ variables


def add_variables(lp: LinearModel, site: Site) -> SiteBlock:
    """Create a_l, m_f and x_{f,t} with their bounds [IT MW] and net USD coefficients."""
    cfg = site.config
    block = SiteBlock(site=site)
    lease_obj, fleet_obj, run_obj = objective_usd_per_mw(site)
    if site.has_ai and cfg.ai.lease:
        low = [lease.min_mw for lease in cfg.ai.lease]
        up = [cfg.lease_max_mw(lease) for lease in cfg.ai.lease]
        block.cols["lease"] = lp.add_columns(low, up, lease_obj)
    fleets = cfg.mining.fleet
    if fleets:
        mw = np.array([fleet.mw for fleet in fleets])
        block.cols["fleet"] = lp.add_columns(0.0, mw, fleet_obj)
        implied_ub = np.minimum(mw[:, None], site.grid_cap_mw[None, :] / cfg.mining.pue)
        block.cols["run"] = lp.add_columns(0.0, implied_ub, run_obj)
    return block


def objective_usd_per_mw(site: Site) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Objective coefficients: per lease and per fleet [USD per IT MW over the horizon],
    per fleet and hour [USD per IT MW running that hour: the margin revenue - pue_m x price,
    times ``mining.capture_frac``]."""
    cfg = site.config
    years = site.horizon_years
    lease_obj = np.zeros(0)
    if site.has_ai:
        ai = cfg.ai
        rates = np.array([lease.rate_usd_per_kw_month for lease in ai.lease])
        fixed = (ai.fitout_capex_usd_per_mw * crf(ai.discount_rate_frac, ai.capex_life_years)
                 + ai.opex_usd_per_mw_year) * years
        power = 0.0
        if not ai.power_pass_through:
            power = float(np.dot(site.price_usd_per_mwh, site.ai_utilization_frac)) * ai.pue
        lease_obj = rates * 12000.0 * years - fixed - power
    m = cfg.mining
    fleet_obj = np.full(len(m.fleet), -m.opex_usd_per_mw_year * years)
    revenue = np.array([
        mining_revenue_usd_per_mwh(site.hashprice_usd_per_ph_day, m.pool_fee_frac, fleet.efficiency_j_per_th)
        for fleet in m.fleet
    ]).reshape(len(m.fleet), site.hours)
    # mining.capture_frac: the share of this perfect-foresight hourly margin a runnable rule earns
    # (docs/operate.md); one place, so HiGHS, the structured solver and decide all see it
    run_obj = m.capture_frac * (revenue - m.pue * site.price_usd_per_mwh[None, :])
    return lease_obj, fleet_obj, run_obj


# ------------------------------------------------------------ constraint families


def add_convertible(lp: LinearModel, block: SiteBlock) -> None:
    """sum_l a_l <= convertible_mw [IT MW] (MODEL 1)."""
    a = block.lease_cols
    if not a.size:
        return
    lp.add_rows("convertible", block, -INF, block.site.config.ai.convertible_mw, 0, a, 1.0)


def add_run_limit(lp: LinearModel, block: SiteBlock) -> None:
    """x_{f,t} - m_f <= 0 for every fleet and hour [IT MW] (MODEL 2)."""
    x, m = block.run_cols, block.fleet_cols
    if not m.size:
        return
    n_f, n_h = x.shape
    local = np.arange(n_f * n_h).reshape(n_f, n_h)
    row = np.stack([local, local], axis=-1)
    col = np.stack([x, np.broadcast_to(m[:, None], x.shape)], axis=-1)
    coef = np.broadcast_to(np.array([1.0, -1.0]), row.shape)
    idx = lp.add_rows("run_limit", block, -INF, np.zeros(n_f * n_h), row, col, coef)
    for f in range(n_f):
        block.rows[f"run_limit__{f}"] = idx[f * n_h:(f + 1) * n_h]


def add_halls(lp: LinearModel, block: SiteBlock) -> None:
    """pue_ai sum_l a_l + pue_m sum_f m_f <= facility_mw [grid MW] (MODEL 3)."""
    site = block.site
    a, m = block.lease_cols, block.fleet_cols
    if not a.size and not m.size:
        return
    pue_ai = site.config.ai.pue if a.size else 0.0
    col = np.concatenate([a, m])
    coef = np.concatenate([np.full(a.size, pue_ai), np.full(m.size, site.config.mining.pue)])
    lp.add_rows("halls", block, -INF, site.facility_mw, 0, col, coef)


def add_firm_ai(lp: LinearModel, block: SiteBlock) -> None:
    """pue_ai sum_l a_l <= c_t for every hour: AI is never curtailed [grid MW] (MODEL 4)."""
    a = block.lease_cols
    if not a.size:
        return
    site = block.site
    hours = site.hours
    row = np.repeat(np.arange(hours), a.size)
    col = np.tile(a, hours)
    lp.add_rows("firm_ai", block, -INF, site.grid_cap_mw, row, col, site.config.ai.pue)


def add_grid_limit(lp: LinearModel, block: SiteBlock) -> None:
    """pue_ai u_t sum_l a_l + pue_m sum_f x_{f,t} <= c_t for every hour [grid MW] (MODEL 5)."""
    site = block.site
    a, x = block.lease_cols, block.run_cols
    if not a.size and not x.size:
        return
    hours = site.hours
    n_f = x.shape[0]
    t = np.arange(hours)
    rows = [np.repeat(t, a.size), np.tile(t, n_f)]
    cols = [np.tile(a, hours), x.ravel()]
    ai_coef = site.config.ai.pue * site.ai_utilization_frac if a.size else np.zeros(hours)
    coefs = [np.repeat(ai_coef, a.size), np.full(x.size, site.config.mining.pue)]
    lp.add_rows("grid_limit", block, -INF, site.grid_cap_mw, np.concatenate(rows), np.concatenate(cols),
                np.concatenate(coefs))


def add_uptime_sla(lp: LinearModel, block: SiteBlock) -> None:
    """sum_t x_{f,t} - min_uptime H m_f >= 0 for every fleet [IT MWh] (MODEL 6)."""
    site = block.site
    frac = site.config.mining.min_uptime_frac
    x, m = block.run_cols, block.fleet_cols
    if frac <= 0 or not m.size:
        return
    n_f, n_h = x.shape
    row = np.concatenate([np.repeat(np.arange(n_f), n_h), np.arange(n_f)])
    col = np.concatenate([x.ravel(), m])
    coef = np.concatenate([np.ones(x.size), np.full(n_f, -frac * n_h)])
    lp.add_rows("uptime_sla", block, np.zeros(n_f), INF, row, col, coef)
