"""The exact second stage of a base-model site in closed form (no LP), with its supergradient.

With the first stage ``y = (a_l, m_f)`` fixed and no uptime SLA and no
power-market rows, a scenario's second stage falls apart by hour: in hour
``t`` the fleets share the IT headroom ``h_t = (c_t - pue_ai u_t a) / pue_m``
(``a = sum_l a_l``; ``h_t >= 0`` once the firm AI row holds), each fleet runs
at most ``m_f`` and earns its margin ``r_{f,t}`` (MODEL.md: hashprice revenue
minus ``pue_m`` x price) per IT MWh. The optimum of that one-row LP is greedy:
fleets in decreasing margin, while the margin is positive, until the headroom
is used. Its optimal duals are explicit too:

- ``mu_t`` (headroom, per IT MW): 0 when headroom is left; otherwise the best
  margin among the fleets not running in full (clipped at 0);
- ``lambda_{f,t} = max(0, r_{f,t} - mu_t)`` (a fleet's kept MW).

Both satisfy dual feasibility and complementary slackness with the greedy
dispatch, so the supergradient of the scenario's net is

    d/d m_f = fleet cost_f + sum_t lambda_{f,t}
    d/d a_l = lease value_l - sum_t mu_t pue_ai u_t / pue_m,

the same the LP's reduced costs give (tested against the LP). Scenarios with
an uptime SLA or power-market rows are solved as LPs (:mod:`allocator.whatif.decide_engine`).
"""

from __future__ import annotations

import numpy as np

from ..inputs.site import HOURS_PER_YEAR, Site
from ..lp.model import objective_usd_per_mw


def applies(site: Site) -> bool:
    """True when the closed form is the site's second stage: no uptime SLA, no power-market rows."""
    if site.power is not None and site.power.has_lp_terms:
        return False
    return not (site.config.mining.fleet and site.config.mining.min_uptime_frac > 0)


class StructuredScenario:
    """One base-model scenario held as its hourly margins and headroom coefficients.

    Parameters
    ----------
    site : Site
        The scenario's site (:func:`applies` must hold).
    shared : tuple of np.ndarray
        Arrays it may share with other futures (the base site's grid cap): not counted in :attr:`nbytes`.
    """

    def __init__(self, site: Site, shared: tuple[np.ndarray, ...] = ()) -> None:
        from .decide_program import FirstStage

        cfg = site.config
        lease_obj, fleet_obj, run_obj = objective_usd_per_mw(site)
        self.lease_obj, self.fleet_obj = lease_obj, fleet_obj
        self.margin = run_obj                       # (F, H) [USD per IT MWh]
        # fleets by margin, per hour (few fleets: a small integer type keeps a future's memory small)
        self.order = np.argsort(-run_obj, axis=0, kind="stable").astype(np.int8 if run_obj.shape[0] < 128 else np.int16)
        self.pue_m = cfg.mining.pue
        ai_grid = (cfg.ai.pue * site.ai_utilization_frac) if site.has_ai else np.zeros(site.hours)
        self.ai_grid = ai_grid if np.ptp(ai_grid) > 0 else np.full(1, ai_grid[0] if ai_grid.size else 0.0)
        self.cap = site.grid_cap_mw  # shared with the base site unless the scenario moves an event
        self._shared = any(self.cap is x for x in shared)
        self.n_lease = lease_obj.size
        self.fs_lower = np.r_[[lease.min_mw for lease in cfg.ai.lease] if site.has_ai else [],
                              np.zeros(len(cfg.mining.fleet))]
        self.fs_upper = np.r_[[cfg.lease_max_mw(lease) for lease in cfg.ai.lease] if site.has_ai else [],
                              [f.mw for f in cfg.mining.fleet]]
        self.factor = HOURS_PER_YEAR / site.hours
        self.first = FirstStage.of(site, float(site.grid_cap_mw.min()))

    def evaluate(self, y: np.ndarray):
        """Annualized net [USD/year] at first stage ``y`` [IT MW], its supergradient and the mined MWh."""
        from .decide_program import Evaluation

        y = np.minimum(np.maximum(np.asarray(y, float), self.fs_lower), self.fs_upper)
        a, m = float(y[:self.n_lease].sum()), y[self.n_lease:]
        n_f, n_h = self.margin.shape
        value = float(self.lease_obj @ y[:self.n_lease] + self.fleet_obj @ m)
        grad = np.r_[self.lease_obj, self.fleet_obj].astype(float)
        energy = 0.0
        if n_f:
            ai_grid = np.broadcast_to(self.ai_grid, (n_h,))
            left = np.maximum(self.cap - ai_grid * a, 0.0) / self.pue_m
            hours = np.arange(n_h)
            x = np.zeros((n_f, n_h))
            for k in range(n_f):
                f = self.order[k]
                r = self.margin[f, hours]
                run = np.where(r > 0, np.minimum(m[f], left), 0.0)
                x[f, hours] = run
                left = left - run
            value += float((self.margin * x).sum())
            energy = float(x.sum())
            binding = left <= 1e-9 * np.maximum(1.0, self.cap)
            not_full = x < m[:, None] - 1e-12
            best_open = np.where(not_full, self.margin, -np.inf).max(axis=0)
            mu = np.where(binding, np.maximum(best_open, 0.0), 0.0)
            lam = np.maximum(self.margin - mu[None, :], 0.0)
            grad[self.n_lease:] += lam.sum(axis=1)
            if self.n_lease:
                grad[:self.n_lease] -= float(mu @ ai_grid) / self.pue_m
        return Evaluation(True, value * self.factor, grad * self.factor, energy)

    @property
    def nbytes(self) -> int:
        """Memory held by this future's arrays [bytes]."""
        own = (self.margin, self.order, self.ai_grid) + (() if self._shared else (self.cap,))
        return sum(x.nbytes for x in own)

    def own_optimum(self) -> tuple[float, np.ndarray]:
        """This scenario alone (its own split), by the same cutting planes over its one scenario."""
        from .decide_program import solve_lshaped

        decision = solve_lshaped(self.first, _One(self), np.ones(1))
        return decision.objective_usd_per_year, decision.y_mw


class _One:
    """One scenario as a set of scenarios."""

    def __init__(self, scenario: StructuredScenario) -> None:
        self.scenario = scenario

    def evaluate(self, y: np.ndarray) -> list:
        return [self.scenario.evaluate(y)]
