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

With two fleets or more, the fleets compete for the hours each needs: the
minimum over ``nu`` (one multiplier per fleet) is found by cutting planes in
``nu`` and the dispatch is the convex combination of the greedy dispatches
the inner master weights (Dantzig-Wolfe); the first stages that cannot meet
the SLA are those failing a max-flow cut condition, ``sum_t min(left_t,
sum_{f in S} m_f) >= sum_{f in S} D_f`` for a set ``S`` of fleets, cut off as
above. A case whose inner planes do not close raises, and the site goes to HiGHS.
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
        ``h_S(a, m) = sum_t min(left_t, sum_{f in S} m_f) - D_S`` (< 0) for the fleets ``S`` most short [IT MWh].
    grad_per_mw : np.ndarray
        Supergradient of ``h_S`` w.r.t. ``(a_1..a_L, m_1..m_F)`` [IT MWh per IT MW].
    mu : np.ndarray
        (H,) 1 where the headroom limits the hour, else 0 (the Farkas ray) [-].
    lam : np.ndarray
        (F, H) 1 where the MW of ``S`` limit the hour, for the fleets of ``S``, else 0 [-].
    nu : np.ndarray
        (F,) 1 for the fleets of ``S``, else 0 [-].
    """

    shortfall_mwh: float
    grad_per_mw: np.ndarray
    mu: np.ndarray
    lam: np.ndarray
    nu: np.ndarray


#: relative gap of the inner cutting planes over nu (two fleets or more)
INNER_GAP = 1e-11
INNER_ITERATIONS = 400


def evaluate_sla(dispatch: Dispatch, a: float, m: np.ndarray, uptime_frac: float, n_lease: int):
    """The SLA dispatch at ``(a, m)``.

    Returns
    -------
    tuple or Infeasible
        ``(value_usd, x, mu, lam, pi, nu, grad, bound_usd)``: the value of the dispatch x (F, H) [IT MW]
        [USD], the hourly duals (:meth:`Dispatch.duals`), the SLA multipliers ``nu`` (F,) [USD per IT MWh],
        the supergradient [USD per IT MW] and ``g(nu) >= Q(a, m)``, the value the cut is made with (equal
        to the first with one fleet; with more, above it by what the inner planes leave open);
        or an :class:`Infeasible` when no dispatch meets the SLA.
    """
    from ..errors import Problem, SolverError

    pue = dispatch.pue_m
    n_f, n_h = dispatch.margin.shape
    left = np.maximum(dispatch.cap - dispatch.ai_grid * a, 0.0) / pue
    need = uptime_frac * n_h * np.asarray(m, float)
    short = _shortest_subset(left, m, need)
    if short is not None:
        return _feasibility_cut(dispatch, left, m, need, short, uptime_frac, n_lease)
    value, x, mu, lam, pi = dispatch.evaluate_priced(a, m)
    nu = np.zeros(n_f)
    bound = None
    if (x.sum(axis=1) < need).any():
        if n_f == 1:
            cap = np.minimum(m[0], left)
            value, x, mu, lam, pi, nu = _meet_uptime(dispatch, a, m, left, cap, min(float(need[0]), float(cap.sum())))
        else:
            value, x, mu, lam, pi, nu, bound = _lagrangian(dispatch, a, m, need)
            if (x.sum(axis=1) < need - 1e-9 * np.maximum(1.0, need)).any():
                raise SolverError([Problem("uptime SLA", "the multipliers of the uptime SLA did not converge.",
                                           "Use --solver highs.")])
    grad = dispatch.gradient(mu, lam, n_lease, pi)
    grad[n_lease:] -= nu * uptime_frac * n_h
    return value, x, mu, lam, pi, nu, grad, value if bound is None else max(value, bound)


def _shortest_subset(left: np.ndarray, m: np.ndarray, need: np.ndarray) -> tuple | None:
    """The fleets ``S`` whose SLA the hours cannot serve together (max-flow cut condition
    ``sum_t min(left_t, m_S) >= D_S`` for every ``S``), most short first; None when all can."""
    n_f = m.size
    worst = None
    for bits in range(1, 2 ** n_f):
        members = np.array([(bits >> f) & 1 for f in range(n_f)], bool)
        m_s, need_s = float(m[members].sum()), float(need[members].sum())
        served = float(np.minimum(left, m_s).sum())
        if served < need_s * (1.0 - 1e-12) and (worst is None or served - need_s < worst[0]):
            worst = (served - need_s, members)
    return worst


def _feasibility_cut(dispatch: Dispatch, left, m, need, short, uptime_frac: float, n_lease: int) -> Infeasible:
    shortfall, members = short
    n_f, n_h = dispatch.margin.shape
    by_m = float(m[members].sum()) <= left  # hours the fleets' MW limit, not the headroom
    grad = np.zeros(n_lease + n_f)
    grad[:n_lease] = -float(dispatch.ai_grid[~by_m].sum()) / dispatch.pue_m
    grad[n_lease:][members] = float(by_m.sum()) - uptime_frac * n_h
    lam = np.where(members[:, None], by_m[None, :], False).astype(float)
    return Infeasible(shortfall, grad, (~by_m).astype(float), lam, members.astype(float))


def _meet_uptime(dispatch: Dispatch, a: float, m: np.ndarray, left: np.ndarray, cap: np.ndarray, need: float):
    """One fleet: the best dispatch running ``need`` IT MWh, segments in decreasing worth (module docstring)."""
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
    return dispatch.value(a, x), x, mu, lam, pi, np.array([nu])


def _lagrangian(dispatch: Dispatch, a: float, m: np.ndarray, need: np.ndarray):
    """Two fleets or more: ``min_{nu >= 0} g(nu)`` by cutting planes in nu (a master of F + 1 columns),
    the dispatch recovered as the master's convex combination of the greedy dispatches it priced.

    ``g(nu) = sum_t knapsack_t(r + nu) - nu . D`` is convex and polyhedral with the subgradient
    ``R(nu) - D`` (``R_f``: MWh fleet ``f`` runs), so the cutting planes end; the weights of the
    binding cuts make a dispatch meeting every SLA that is optimal at the last ``nu``.
    """
    import highspy

    from .solve import exact_simplex_highs

    n_f = m.size
    spread = float(np.abs(dispatch.margin).max(initial=0.0)) + float(dispatch.bonus_usd_per_mwh.max(initial=0.0)) \
        * dispatch.pue_m
    nu_max = 4.0 * n_f * spread + 1.0  # multipliers past it: the SLA is met only with no slack at all
    h = exact_simplex_highs()
    scale = max(1.0, float(need.sum()) * spread)
    # column u_f = nu_f c_f: each fleet's subgradient (MWh short) brought to the size of the largest need
    # (a fleet with next to no MW keeps a coefficient of 1e-3 or more: its few MWh short are below tolerance)
    c = np.maximum(need / max(1e-300, float(need.max())), 1e-3)
    h.addVars(n_f + 1, np.r_[np.zeros(n_f), -np.inf], np.r_[np.where(need > 0, nu_max * c, 0.0), np.inf])
    h.changeColsCost(n_f + 1, np.arange(n_f + 1, dtype=np.int32), np.r_[np.zeros(n_f), 1.0])
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    tried, runs, values = [], [], []  # per cut: dispatch, MWh per fleet, Q at the site's margins
    nu = np.zeros(n_f)
    best = None
    cols = np.arange(n_f + 1, dtype=np.int32)
    for _ in range(INNER_ITERATIONS):
        value, x, mu, lam, pi = dispatch.evaluate_priced(a, m, dispatch.margin + nu[:, None])
        run = x.sum(axis=1)
        g = value + float(nu @ (run - need))
        if best is None or g < best[0]:
            best = (g, nu.copy(), mu, lam, pi)
        tried.append(x)
        runs.append(run)
        values.append(value)
        slope = run - need
        # eta >= g + slope . (nu' - nu), in u = nu c and scaled
        h.addRow((g - float(slope @ nu)) / scale, np.inf, n_f + 1, cols, np.r_[-slope / c / scale, 1.0])
        h.run()
        bound = float(h.getInfo().objective_function_value) * scale
        nu = np.clip(np.asarray(h.getSolution().col_value, float)[:n_f] / c, 0.0, nu_max)
        if best[0] - bound <= INNER_GAP * max(1.0, abs(best[0]), abs(bound)):
            break
    weights = _exact_weights(np.clip(np.asarray(h.getSolution().row_dual, float), 0.0, None), np.array(runs),
                             need, best[1])
    x = sum(w * xj for w, xj in zip(weights, tried) if w > 0)
    g, nu, mu, lam, pi = best
    return dispatch.value(a, x), x, mu, lam, pi, nu, g


def _exact_weights(weights: np.ndarray, runs: np.ndarray, need: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """The master's cut weights re-solved on their support so that the combination runs exactly ``need``
    MWh for every fleet whose multiplier is positive (the master's tolerances leave ~1e-10 relative)."""
    support = np.flatnonzero(weights > 0)
    if not support.size:
        return weights
    binding = np.flatnonzero((nu > 0) | (weights[support] @ runs[support] < need))
    per = np.maximum(need[binding], 1e-300)[:, None]  # each fleet's row in units of its need
    rows = np.vstack([np.ones(support.size), runs[support][:, binding].T / per])
    rhs = np.r_[1.0, need[binding] / per[:, 0]]
    solved = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    if (solved < -1e-9).any():
        return weights / weights.sum()
    out = np.zeros_like(weights)
    out[support] = np.clip(solved, 0.0, None)
    return out
