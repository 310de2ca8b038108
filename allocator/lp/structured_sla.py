"""The uptime SLA in the structured solver, for a site with one fleet: an exact Lagrangian per first stage.

The SLA row ``sum_t x_t >= D = min_uptime H m`` (MODEL 6) couples the hours.
With its multiplier ``nu >= 0`` added to every hour's margin, the hours fall
apart again, and for fixed ``(a, m)`` the dispatch value with the SLA is

    Q(a, m) = min_{nu >= 0}  sum_t knapsack_t(r + nu; a, m) - nu D.

With one fleet the minimum is found exactly by sorting: each hour offers up
to ``cap_t = min(m, left_t)`` IT MW in at most two segments (the MW a physical
contract block covers, worth ``r_t + h_t^+ pue_m``, then the rest, worth
``r_t``; :mod:`allocator.lp.structured_dispatch`). The greedy dispatch
(``nu = 0``) takes every segment of positive worth; when that runs fewer than
``D`` MWh, the segments are taken in decreasing worth until ``D`` is met, the
last one in part, and ``nu`` is minus its worth. That dispatch is optimal for
the margins ``r + nu`` (segments above ``-nu`` full, below it empty, at it in
part), so the knapsack duals at ``r + nu`` with ``nu`` are an optimal dual of
the hour-coupled LP, and ``(lambda.sum() - nu min_uptime H, -mu . pue_ai u / pue_m
+ pi . host AI)`` is a supergradient of ``Q`` for the cutting planes.

A first stage whose hours cannot run ``D`` at all (``sum_t cap_t < D``) is cut
off by the feasibility cut ``h(a, m) = sum_t min(m, left_t) - D >= 0``
linearized at it (``h`` is concave); its dual is the ray ``nu = 1``, ``mu_t = 1``
where the headroom limits the hour, ``lambda_t = 1`` where ``m`` does.

With two fleets or more, the fleets compete for the hours both need to meet
their SLA: those sites go to HiGHS (:func:`allocator.lp.structured.not_covered`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .structured_dispatch import Dispatch


@dataclass
class Infeasible:
    """A first stage whose hours cannot meet the SLA, and the cut that removes it.

    Attributes
    ----------
    shortfall_mwh : float
        ``h(a, m) = sum_t min(m, left_t) - D`` (< 0) [IT MWh].
    grad_per_mw : np.ndarray
        Supergradient of ``h`` w.r.t. ``(a_1..a_L, m)`` [IT MWh per IT MW].
    mu : np.ndarray
        (H,) 1 where the headroom limits the hour, else 0 (the Farkas ray) [-].
    lam : np.ndarray
        (1, H) 1 where the fleet MW limit the hour, else 0 [-].
    """

    shortfall_mwh: float
    grad_per_mw: np.ndarray
    mu: np.ndarray
    lam: np.ndarray


def evaluate_sla(dispatch: Dispatch, a: float, m: np.ndarray, uptime_frac: float, n_lease: int):
    """The SLA dispatch of a one-fleet site at ``(a, m)``.

    Returns
    -------
    tuple or Infeasible
        ``(value_usd, x, mu, lam, pi, nu, grad)``: Q(a, m) [USD], x (1, H) [IT MW], the hourly duals
        (:meth:`Dispatch.duals`), the SLA multiplier ``nu`` [USD per IT MWh] and the supergradient
        [USD per IT MW]; or an :class:`Infeasible` when no dispatch meets the SLA.
    """
    pue = dispatch.pue_m
    n_h = dispatch.margin.shape[1]
    left = np.maximum(dispatch.cap - dispatch.ai_grid * a, 0.0) / pue
    cap = np.minimum(m[0], left)
    need = uptime_frac * n_h * float(m[0])
    total = float(cap.sum())
    if total < need * (1.0 - 1e-12):
        by_m = m[0] <= left
        grad_m = float(by_m.sum()) - uptime_frac * n_h
        grad_a = -float(dispatch.ai_grid[~by_m].sum()) / pue
        return Infeasible(total - need, np.r_[np.full(n_lease, grad_a), grad_m], (~by_m).astype(float),
                          by_m.astype(float)[None, :])
    value, x, mu, lam, pi = dispatch.evaluate(a, m)
    nu = 0.0
    if float(x.sum()) < need:
        value, x, mu, lam, pi, nu = _meet_uptime(dispatch, a, m, left, cap, min(need, total))
    grad = dispatch.gradient(mu, lam, pi, n_lease)
    grad[n_lease] -= nu * uptime_frac * n_h
    return value, x, mu, lam, pi, nu, grad


def _meet_uptime(dispatch: Dispatch, a: float, m: np.ndarray, left: np.ndarray, cap: np.ndarray, need: float):
    """The best dispatch running ``need`` IT MWh: segments in decreasing worth (module docstring)."""
    pue = dispatch.pue_m
    r = dispatch.margin[0]
    n_h = r.size
    slack_grid = dispatch.block_mw - dispatch.host_ai * a
    tier = np.maximum(slack_grid, 0.0) / pue
    first = np.minimum(cap, tier)
    worth = np.r_[r + dispatch.bonus_usd_per_mwh * pue, r]
    length = np.r_[first, cap - first]
    kind = np.r_[np.zeros(n_h), np.ones(n_h)]  # an hour's block segment before its rest at equal worth
    order = np.lexsort((kind, -worth))
    cum = np.cumsum(length[order])
    j = min(int(np.searchsorted(cum, need)), order.size - 1)
    taken = np.zeros(2 * n_h)
    taken[order[:j]] = length[order[:j]]
    taken[order[j]] = min(length[order[j]], need - (float(cum[j - 1]) if j else 0.0))
    nu = max(0.0, -float(worth[order[j]]))
    full = taken == length
    x = np.where(full[:n_h] & full[n_h:], cap, taken[:n_h] + taken[n_h:])[None, :]
    over = (slack_grid < 0) | (x[0] > tier)
    mu, lam, pi = dispatch.duals(dispatch.margin + nu, x, m, left - x[0] <= 0.0, over, x[0] >= tier)
    return dispatch.value(a, x), x, mu, lam, pi, nu
