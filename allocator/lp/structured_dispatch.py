"""The hourly dispatch of the structured solver: one greedy knapsack per hour, with the power terms it covers.

Once the lease MW ``a`` and the fleet MW ``m_f`` are fixed, hour ``t`` of the
site LP is a one-row LP: fleets share the IT headroom
``left_t = (c_t - pue_ai u_t a) / pue_m`` and each runs at most ``m_f``,
earning ``r_{f,t}`` per IT MWh. Two power-market terms of
:mod:`allocator.power.rows` stay inside that hour and are folded in here:

- **4CP** (``z = sum_t w_t D_t``, ``z`` costing ``k = charge x share`` per MW): the charge is
  linear in the host draw ``D_t``, so each IT MW of mining pays ``k w_t pue_m`` more in hour
  ``t`` (subtracted from ``r_{f,t}``) and each lease MW ``k sum_t w_t pue_ai u_t`` more when its
  power is not passed through (subtracted from the lease objective). The 4CP row's dual is
  ``-k`` and ``z`` is basic.
- **Physical contracts** (``y_{k,t} <= B_{k,t}`` worth the hub price ``h_t``,
  ``sum_k y_{k,t} <= D_t``): the blocks are paid for used or not (a constant), and the MW of
  the draw they cover are worth ``h_t^+`` more. The first ``T_t = (B_t - host AI draw)^+ / pue_m``
  IT MW of mining earn ``r_{f,t} + h_t^+ pue_m``, the rest ``r_{f,t}``: a concave two-tier hour
  that the greedy still solves exactly, fleets in decreasing ``r`` (the tier bonus is the same
  for every fleet), each while its value in the current tier is positive.

The optimal duals of the hour are explicit. ``pi_t`` [USD per grid MWh], the dual of
``sum_k y <= D_t``: ``h_t^+`` while the draw is below the block (or the headroom binds at the
block's edge), 0 when it exceeds it, and at the edge ``clip(-r_open / pue_m, 0, h_t^+)`` with
``r_open`` the best margin of a fleet not running in full. With ``r' = r + pi pue_m`` the
knapsack duals follow as in the base model: ``mu_t`` [USD per IT MWh of headroom] is 0 when
headroom is left, else the best ``r'`` among fleets not running in full (clipped at 0), and
``lambda_{f,t} = max(0, r'_{f,t} - mu_t)``.
"""

from __future__ import annotations

import numpy as np

from ..inputs.site import Site
from .model import objective_usd_per_mw


class Dispatch:
    """The hourly knapsacks of one site: margins, fleet order per hour, headroom and contract tiers.

    Parameters
    ----------
    site : Site
        A site :func:`allocator.lp.structured.not_covered` accepts.

    Attributes
    ----------
    lease_obj : np.ndarray
        (L,) objective per lease MW, the 4CP charge on its host draw included [USD per IT MW].
    fleet_obj : np.ndarray
        (F,) objective per fleet MW kept [USD per IT MW].
    margin : np.ndarray
        (F, H) margin per IT MWh running, the 4CP charge included [USD per IT MWh].
    constant_usd : float
        The contracts' dispatch-independent settlement (column ``contract_constant``) [USD].
    peak_usd_per_mw : float
        4CP cost per MW of average peak draw ``k`` (0 without 4CP) [USD per grid MW].
    block_mw : np.ndarray
        (H,) physical contract MW of each hour, all contracts [grid MW].
    bonus_usd_per_mwh : np.ndarray
        (H,) ``h_t^+`` where a physical block is held, else 0 [USD per grid MWh].
    host_ai : np.ndarray
        (H,) host draw per lease MW: ``pue_ai u_t`` when AI power is not passed through, else 0 [-].
    """

    def __init__(self, site: Site) -> None:
        cfg = site.config
        self.lease_obj, self.fleet_obj, self.margin = objective_usd_per_mw(site)  # margin: (F, H) [USD/IT MWh]
        self.pue_m = cfg.mining.pue
        n_h = site.hours
        self.ai_grid = (cfg.ai.pue * site.ai_utilization_frac) if site.has_ai else np.zeros(n_h)
        passed = not site.has_ai or cfg.ai.power_pass_through
        self.host_ai = np.zeros(n_h) if passed else self.ai_grid
        self.cap = np.asarray(site.grid_cap_mw, float)
        self.hours = np.arange(n_h)
        self.constant_usd = 0.0
        self.peak_usd_per_mw = 0.0
        self.peak_weight = np.zeros(n_h)
        self.block_mw = np.zeros(n_h)
        self.bonus_usd_per_mwh = np.zeros(n_h)
        pm = site.power
        if pm is not None:
            self._fold_power(pm)
        self.order = np.argsort(-self.margin, axis=0, kind="stable")

    def _fold_power(self, pm) -> None:
        """Fold 4CP into the margins and lease objective; keep the physical blocks and the contract constant."""
        for c in pm.contracts:  # as allocator.power.rows.contract_constant_usd
            self.constant_usd -= float(c.block_mw.sum()) * c.price_usd_per_mwh
            if c.settlement == "financial":
                self.constant_usd += float(c.block_mw @ pm.hub_price_usd_per_mwh)
            else:
                self.block_mw = self.block_mw + c.block_mw
        held = self.block_mw > 0
        self.bonus_usd_per_mwh = np.where(held, np.clip(pm.hub_price_usd_per_mwh, 0.0, None), 0.0)
        if pm.peak_weight_frac is not None:
            self.peak_usd_per_mw = pm.peak_charge_usd_per_mw_year * pm.peak_charge_share_frac
            self.peak_weight = np.asarray(pm.peak_weight_frac, float)
            self.margin = self.margin - self.peak_usd_per_mw * self.peak_weight[None, :] * self.pue_m
            self.lease_obj = self.lease_obj - self.peak_usd_per_mw * float(self.peak_weight @ self.host_ai)

    def evaluate(self, a: float, m: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Q(a, m) [USD], the dispatch x (F, H) [IT MW], mu (H,) and lambda (F, H) [USD per IT MWh]
        (:meth:`evaluate_priced` also gives pi, the physical contracts' dual)."""
        return self.evaluate_priced(a, m)[:4]

    def evaluate_priced(self, a: float, m: np.ndarray, margin: np.ndarray | None = None
                        ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Q(a, m) [USD], the dispatch x (F, H) [IT MW], mu (H,), lambda (F, H) [USD per IT MWh]
        and pi (H,) [USD per grid MWh] (module docstring). ``margin``: other margins than the site's
        (the uptime SLA's Lagrangian); Q is always valued at the site's."""
        n_f, n_h = self.margin.shape
        order = self.order if margin is None else np.argsort(-margin, axis=0, kind="stable")
        margin = self.margin if margin is None else margin
        pue = self.pue_m
        left = np.maximum(self.cap - self.ai_grid * a, 0.0) / pue
        slack_grid = self.block_mw - self.host_ai * a  # block MW the AI draw leaves to mining [grid MW]
        tier = np.maximum(slack_grid, 0.0) / pue         # IT MW of mining the block still covers
        bonus = self.bonus_usd_per_mwh * pue             # its worth per IT MWh
        x = np.zeros((n_f, n_h))
        beyond = np.zeros(n_h, bool)  # some mining ran past the block
        for k in range(n_f):
            f = order[k]
            r = margin[f, self.hours]
            run = np.where(r > 0, np.minimum(m[f], left),
                           np.where(r + bonus > 0, np.minimum(np.minimum(m[f], left), tier), 0.0))
            x[f, self.hours] = run
            covered = np.minimum(run, tier)
            beyond |= run > covered
            left = left - run
            tier = tier - covered
        if n_f == 0:
            credit = float(self.bonus_usd_per_mwh @ np.minimum(self.block_mw, self.host_ai * a))
            pi = np.where((self.bonus_usd_per_mwh > 0) & (slack_grid > 0), self.bonus_usd_per_mwh, 0.0)
            return credit, x, np.zeros(n_h), x, pi
        # min(m, left) is exactly left when the headroom runs out, so the subtraction leaves exactly 0
        mu, lam, pi = self.duals(margin, x, m, left <= 0.0, beyond | (slack_grid < 0), tier <= 0.0)
        return self.value(a, x), x, mu, lam, pi

    def value(self, a: float, x: np.ndarray) -> float:
        """Q at a dispatch: margins plus the physical blocks' worth on the draw they cover [USD]."""
        draw = self.host_ai * a + self.pue_m * x.sum(axis=0)
        return float((self.margin * x).sum()) + float(self.bonus_usd_per_mwh @ np.minimum(self.block_mw, draw))

    def duals(self, margin: np.ndarray, x: np.ndarray, m: np.ndarray, binding: np.ndarray, over: np.ndarray,
              tier_used: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """mu (H,), lambda (F, H) [USD per IT MWh] and pi (H,) [USD per grid MWh] of a dispatch ``x`` that is
        optimal for the hourly knapsacks with margins ``margin`` (module docstring).

        ``binding``: no headroom left; ``over``: the host draw exceeds the block; ``tier_used``: the block
        is used up (the draw reaches it).
        """
        pue = self.pue_m
        not_full = x < m[:, None]
        held = self.bonus_usd_per_mwh > 0
        edge = held & ~over & tier_used  # the draw ends exactly at the block
        best_open_r = np.where(not_full, margin, -np.inf).max(axis=0)
        pi = np.where(held & ~over, self.bonus_usd_per_mwh, 0.0)
        at_edge = np.clip(-best_open_r / pue, 0.0, self.bonus_usd_per_mwh)
        pi = np.where(edge & ~binding, at_edge, pi)
        margin = margin + pi[None, :] * pue
        best_open = np.where(not_full, margin, -np.inf).max(axis=0)
        mu = np.where(binding, np.maximum(best_open, 0.0), 0.0)
        lam = np.maximum(margin - mu[None, :], 0.0)
        return mu, lam, pi

    def gradient(self, mu: np.ndarray, lam: np.ndarray, n_lease: int, pi: np.ndarray | None = None) -> np.ndarray:
        """Supergradient of Q w.r.t. ``(a_1..a_L, m_1..m_F)`` [USD per IT MW]; ``pi`` as :meth:`evaluate_priced`
        gives it (None: no physical contract)."""
        d_a = -float(mu @ self.ai_grid) / self.pue_m + (float(pi @ self.host_ai) if pi is not None else 0.0)
        return np.r_[np.full(n_lease, d_a), lam.sum(axis=1)]

    def physical_use_mw(self, a: float, x: np.ndarray) -> np.ndarray:
        """(H,) grid MW of the physical blocks used: ``min(B_t, D_t)`` where ``h_t > 0``, else 0."""
        draw = self.host_ai * a + self.pue_m * x.sum(axis=0)
        return np.where(self.bonus_usd_per_mwh > 0, np.minimum(self.block_mw, draw), 0.0)

    def peak_draw_mw(self, a: float, x: np.ndarray) -> float:
        """``z = sum_t w_t D_t``, the average host draw over the peak intervals [grid MW]."""
        return float(self.peak_weight @ (self.host_ai * a + self.pue_m * x.sum(axis=0)))
