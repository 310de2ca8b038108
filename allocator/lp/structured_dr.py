"""Demand response in the structured solver: offers priced inside each hour, annual programs in the master.

The rows are those of :func:`allocator.power.rows.add_demand_response` (symbols as
in docs/power.md). Annual (USD/MW-year) programs hold one offer ``O_j`` through
their window: it becomes a first-stage column of the master beside ``a_l`` and
``m_f``, costing ``sum_t r_{j,t}``. Once ``(a, m, O)`` are fixed the hours fall
apart again, and each hour is solved exactly.

**An hour without deployment.** Write ``X = pue_m sum_f x_f`` for the grid MW
mining runs. The offers only see ``X``: with ``A_E`` the annual exclusive MW
held, ``e`` the hourly exclusive MW offered and ``d = X - A_E - e`` the depth
left to stacking programs, an hourly stacking program offers ``min(M_k, d)`` and
an annual one needs ``d >= O_k``. The offer revenue ``D(X)`` is then the
sup-convolution of two concave functions (exclusive programs greedily by rate;
stacking depth worth the sum of the rates of the programs not yet full), so
it is concave and piecewise linear, starting at ``X = A`` (the annual MW held)
with its segments, merged in decreasing slope, then slope 0. The hour is
``max_X MB(X) + D(X)`` on ``[A, min(C_t, pue_m sum_f m_f)]``, ``MB`` the
greedy mining value with the physical block's tier
(:mod:`allocator.lp.structured_dispatch`): both slopes are step functions, so
``X*`` is the first breakpoint where the right slope of the sum is <= 0. Mining
may run at a loss to hold capacity when the offers' slope pays for it.

Its duals: ``phi`` (USD per grid MWh, the price the offers put on ``X``) is any
point of ``dMB(X*)`` whose negative lies in ``dD(X*)``; the mining duals are the
knapsack's at the margins ``r - pue_m phi``, and the offer rows' duals
``beta_c >= 0`` sum to ``-phi`` inside the boxes that complementary slackness
with the offers sets (an hourly stacking offer strictly inside ``(0, M_k)`` has
``beta = rate``, and so on; :func:`_offer_duals`).

**A deployment hour** (few in a year) is a small LP with the shed column
``s_t``: one HiGHS model holds every deployment hour, re-solved warm at each
first stage; its row duals are those of the site LP's rows of that hour
(:mod:`allocator.lp.structured_deploy`).

**Feasibility.** The annual MW of a combination active in hour ``t`` must fit
under ``min(c_t - pue_ai u_t a, pue_m sum_f m_f)``; a first stage breaking it is cut
off by that row (exact and linear), whose dual is the ray ``beta_{c,t} = 1``
with the grid row (or, past the kept MW, ``lambda_{f,t} = pue_m`` / ``kappa_t = 1``).
"""

from __future__ import annotations

import numpy as np

#: MW below which an offer counts as at its bound when the duals' boxes are read
TOL_MW = 1e-9


class DemandResponse:
    """The demand-response programs of one site on the structured solver's hours.

    Parameters
    ----------
    site : Site
        A site with ``[[demand_response]]`` and a fleet.
    dispatch : Dispatch
        The site's hourly knapsacks (margins with 4CP folded in, the physical blocks).

    Attributes
    ----------
    annual : list of int
        Programs paid per MW-year: first-stage columns ``O_j`` of the master, in this order.
    annual_cost : np.ndarray
        (J,) ``sum_t r_{j,t}`` of each annual program [USD per grid MW held through the window].
    annual_upper : np.ndarray
        (J,) ``max_mw`` of each annual program [grid MW].
    combos : list of list of int
        The combinations of programs that may hold the same MW (:mod:`allocator.power.rows`).
    """

    def __init__(self, site, dispatch) -> None:
        pm = site.power
        progs = pm.programs
        self.site, self.dispatch = site, dispatch
        self.pue = dispatch.pue_m
        self.n_h = n_h = site.hours
        self.active = np.array([p.active for p in progs], bool).reshape(len(progs), n_h)
        self.deployed = np.array([p.deployed for p in progs], bool).reshape(len(progs), n_h)
        self.rate = np.array([p.capacity_usd_per_mw_hour for p in progs], float).reshape(len(progs), n_h)
        self.max_mw = np.array([p.max_mw for p in progs], float)
        self.is_annual = np.array([p.annual for p in progs], bool)
        self.stacking = np.array([p.stacking for p in progs], bool)
        self.annual = [k for k, p in enumerate(progs) if p.annual]
        self.annual_cost = self.rate[self.annual].sum(axis=1) if self.annual else np.zeros(0)
        self.annual_upper = self.max_mw[self.annual]
        exclusive = [k for k, p in enumerate(progs) if not p.stacking]
        stacking = [k for k, p in enumerate(progs) if p.stacking]
        self.exclusive, self.stack = exclusive, stacking
        self.combos = [exclusive + [j] for j in stacking] if stacking else [exclusive]
        self.combo_active = np.array([self.active[c].any(axis=0) for c in self.combos])
        self.combo_deployed = np.array([self.deployed[c].any(axis=0) for c in self.combos])
        self.dep_hours = np.flatnonzero(self.deployed.any(axis=0))
        self.free = np.ones(n_h, bool)
        self.free[self.dep_hours] = False
        # offers beyond every MW the site could run are never reached: a finite stand-in for max_mw = inf
        self.big_mw = 2.0 * (float(np.max(site.grid_cap_mw, initial=0.0))
                             + self.pue * sum(f.mw for f in site.config.mining.fleet)) + 1.0
        self.m_cap = np.minimum(self.max_mw, self.big_mw)
        if self.dep_hours.size:
            from .structured_deploy import DeploymentHours

            self._deploy_lp = DeploymentHours(self)
        else:
            self._deploy_lp = None

    # -------------------------------------------------------------- first stage

    def annual_held(self, o_annual: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(C, H) annual MW each combination holds in each hour (``mask``: active or deployed) [grid MW]."""
        held = np.zeros((len(self.combos), self.n_h))
        for ci, combo in enumerate(self.combos):
            for k in combo:
                if self.is_annual[k]:
                    held[ci] += o_annual[self.annual.index(k)] * mask[k]
        return held

    def kept_mw(self, a: float, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(C_t, K_t): grid headroom ``c_t - pue_ai u_t a`` (>= 0) and ``min(C_t, pue_m sum m)`` [grid MW]."""
        d = self.dispatch
        room = np.maximum(d.cap - d.ai_grid * a, 0.0)
        return room, np.minimum(room, self.pue * float(np.sum(m)))

    def violation(self, y: np.ndarray, n_l: int, n_f: int):
        """The most violated feasibility row at ``y`` as ``(t, combo, by_grid)``, or None."""
        if not self.annual:
            return None
        a, m, o = float(y[:n_l].sum()), y[n_l:n_l + n_f], y[n_l + n_f:]
        room, kept = self.kept_mw(a, m)
        held = self.annual_held(o, self.active)
        over = held - kept[None, :]
        ci, t = np.unravel_index(int(np.argmax(over)), over.shape)
        if over[ci, t] <= TOL_MW * max(1.0, float(kept[t])):
            return None
        return int(t), int(ci), bool(room[t] <= self.pue * float(np.sum(m)))

    def feasibility_cut(self, y: np.ndarray, n_l: int, n_f: int, t: int, ci: int, by_grid: bool):
        """The row ``h(y) = limit_t - sum_{j in c, active t} O_j >= 0`` and its ray (module docstring)."""
        from .structured_cuts import Cut

        d = self.dispatch
        a, m, o = float(y[:n_l].sum()), y[n_l:n_l + n_f], y[n_l + n_f:]
        grad = np.zeros(y.size)
        members = [self.annual.index(k) for k in self.combos[ci] if self.is_annual[k] and self.active[k, t]]
        grad[n_l + n_f + np.array(members, int)] = -1.0
        mu, lam = np.zeros(self.n_h), np.zeros((n_f, self.n_h))
        dr = self._zero_duals()
        dr["beta"][ci, t] = 1.0
        if by_grid:
            limit = float(d.cap[t] - d.ai_grid[t] * a)
            grad[:n_l] = -d.ai_grid[t]
            if self.free[t]:
                mu[t] = self.pue  # the grid row's dual 1 per grid MW, as mu per IT MWh
            else:
                dr["gamma"][t] = 1.0
        else:
            limit = self.pue * float(np.sum(m))
            grad[n_l:n_l + n_f] = self.pue
            if self.free[t]:
                lam[:, t] = self.pue
            else:
                dr["kappa"][t] = 1.0
        value = limit - float(o[members].sum())
        return Cut("dr_feasibility", y.copy(), value, grad, mu, lam, np.zeros(self.n_h), np.zeros(n_f), dr)

    def seed_cuts(self, y: np.ndarray, n_l: int, n_f: int) -> list:
        """Rows ``sum_{c} O <= pue_m sum m`` in each annual program's first hour: they bound ``O`` in the master."""
        cuts = []
        for j, k in enumerate(self.annual):
            t = int(np.argmax(self.active[k]))
            ci = next(i for i, c in enumerate(self.combos) if k in c)
            cuts.append(self.feasibility_cut(y, n_l, n_f, t, ci, False))
        return cuts

    def _zero_duals(self) -> dict:
        n_c = len(self.combos)
        return {"beta": np.zeros((n_c, self.n_h)), "sigma": np.zeros((n_c, self.n_h)),
                "kappa": np.zeros(self.n_h), "gamma": np.zeros(self.n_h)}

    # -------------------------------------------------------------- hours

    def evaluate(self, y: np.ndarray, n_l: int, n_f: int):
        """``(value, x, cut, primal)`` at a feasible first stage ``y = (a_l, m_f, O_j)``.

        ``value`` [USD] is the dispatch and offer value, ``x`` (F, H) [IT MW], ``cut`` the value cut
        with every hourly dual, ``primal`` the offers ``(P, H)`` and shed ``(H,)`` [grid MW].
        """
        from .structured_cuts import Cut

        d = self.dispatch
        a, m, o_ann = float(y[:n_l].sum()), np.asarray(y[n_l:n_l + n_f], float), y[n_l + n_f:]
        room, kept = self.kept_mw(a, m)
        held = np.minimum(self.annual_held(o_ann, self.active), kept[None, :])  # within the tolerance of the cuts
        x, offers, mu, lam, pi, dr = self._free_hours(a, m, o_ann, room)
        shed = np.zeros(self.n_h)
        if self._deploy_lp is not None:
            self._deploy_lp.solve(a, m, held, np.minimum(self.annual_held(o_ann, self.deployed), kept[None, :]),
                                  room, x, offers, shed, mu, lam, pi, dr)
        value = d.value(a, x) + float((self.rate * offers).sum())
        grad = np.zeros(y.size)
        grad[:n_l] = (-float(mu @ d.ai_grid) / self.pue + float(pi @ d.host_ai)
                      - float(dr["gamma"] @ d.ai_grid))
        grad[n_l:n_l + n_f] = lam.sum(axis=1) + self.pue * float(dr["kappa"].sum())
        for j, k in enumerate(self.annual):
            inside = [ci for ci, c in enumerate(self.combos) if k in c]
            grad[n_l + n_f + j] = -float((dr["beta"][inside] * self.active[k]).sum()
                                         + (dr["sigma"][inside] * self.deployed[k]).sum())
        cut = Cut("value", y.copy(), value, grad, mu, lam, pi, np.zeros(n_f), dr)
        return value, x, cut, (offers, shed)

    def _free_hours(self, a: float, m: np.ndarray, o_ann: np.ndarray, room: np.ndarray):
        """Every hour by the closed form (module docstring); deployment hours are overwritten later."""
        d = self.dispatch
        pue, n_h = self.pue, self.n_h
        n_f = m.size
        hours = d.hours
        r_pos = d.margin[d.order, hours[None, :]]             # (F, H) margins in greedy order [USD/IT MWh]
        m_pos = m[d.order]                                    # (F, H) [IT MW]
        ends = pue * np.cumsum(m_pos, axis=0)                 # (F, H) grid MW where each position fills
        starts = ends - pue * m_pos
        total = ends[-1] if n_f else np.zeros(n_h)
        x_hi = np.minimum(room, total)
        tier = np.maximum(d.block_mw - d.host_ai * a, 0.0)    # grid MW the block covers
        bonus = d.bonus_usd_per_mwh
        # annual MW held: exclusive in every combination, stacking ones each in its own
        a_e = np.zeros(n_h)
        d0 = np.zeros(n_h)
        for j, k in enumerate(self.annual):
            held_k = o_ann[j] * self.active[k]
            if self.stacking[k]:
                d0 = np.maximum(d0, held_k)
            else:
                a_e = a_e + held_k
        base = np.minimum(a_e + d0, x_hi)                     # X >= base (feasibility; cuts keep it within x_hi)
        # segments of D beyond base: hourly exclusive programs, stacking depth levels, then slope 0
        ex_h = [k for k in self.exclusive if not self.is_annual[k]]
        st_h = sorted((k for k in self.stack if not self.is_annual[k]), key=lambda k: self.m_cap[k])
        slopes, lengths, kinds = [], [], []
        for k in ex_h:
            slopes.append(self.rate[k])
            lengths.append(np.where(self.active[k], self.m_cap[k], 0.0))
            kinds.append(k)
        level = 0.0
        for i, k in enumerate(st_h):
            top = self.m_cap[k]
            slopes.append(self.rate[st_h[i:]].sum(axis=0))
            lengths.append(np.maximum(top - np.maximum(level, d0), 0.0))
            kinds.append(-1)
            level = top
        slopes.append(np.zeros(n_h))
        lengths.append(np.full(n_h, 2.0 * self.big_mw))
        kinds.append(-1)
        slopes, lengths = np.array(slopes), np.array(lengths)
        seg_order = np.argsort(-slopes, axis=0, kind="stable")
        s_slope = np.take_along_axis(slopes, seg_order, 0)
        s_len = np.take_along_axis(lengths, seg_order, 0)
        s_end = base[None, :] + np.cumsum(s_len, axis=0)
        # candidate breakpoints and the right slope of MB + D at each
        cand = np.vstack([np.zeros((1, n_h)), ends, tier[None, :], base[None, :], s_end, x_hi[None, :]])
        m_slope = np.full(cand.shape, -np.inf)
        for k in range(n_f - 1, -1, -1):
            m_slope = np.where(cand < ends[k][None, :], (r_pos[k] / pue)[None, :], m_slope)
        dr_slope = np.zeros(cand.shape)
        for i in range(s_end.shape[0] - 1, -1, -1):
            dr_slope = np.where(cand < s_end[i][None, :], s_slope[i][None, :], dr_slope)
        right = np.where(cand < base[None, :], np.inf,
                         np.where(cand >= x_hi[None, :], -np.inf,
                                  m_slope + np.where(cand < tier[None, :], bonus[None, :], 0.0) + dr_slope))
        xs = np.where(right <= 0.0, cand, np.inf).min(axis=0)
        xs = np.minimum(np.maximum(xs, base), x_hi)           # X* [grid MW]
        # mining: positions full, partial, empty
        x_pos = np.where(xs[None, :] >= ends, m_pos, np.where(xs[None, :] > starts, (xs[None, :] - starts) / pue, 0.0))
        x = np.zeros((n_f, n_h))
        np.put_along_axis(x, d.order, x_pos, 0)
        # offers: fill the segments in slope order
        fill = np.clip(xs[None, :] - base[None, :] - (s_end - s_len - base[None, :]), 0.0, s_len)
        seg_fill = np.zeros_like(fill)
        np.put_along_axis(seg_fill, seg_order, fill, 0)
        offers = np.zeros((len(self.max_mw), n_h))
        excl = np.zeros(n_h)
        for i, k in enumerate(ex_h):
            offers[k] = seg_fill[i]
            excl = excl + seg_fill[i]
        depth = np.maximum(xs - a_e - excl, 0.0)
        for k in st_h:
            offers[k] = np.where(self.active[k], np.minimum(self.m_cap[k], depth), 0.0)
        # duals
        mb_lo = np.where(xs >= x_hi, -np.inf, _slope_at(xs, ends, r_pos / pue, right_side=True)
                         + np.where(xs < tier, bonus, 0.0))
        mb_hi = np.where(xs <= 0.0, np.inf, _slope_at(xs, ends, r_pos / pue, right_side=False, starts=starts)
                         + np.where(xs <= tier, bonus, 0.0))
        d_lo, d_hi, boxes = self._offer_boxes(offers, depth, o_ann)
        phi_lo, phi_hi = np.maximum(mb_lo, -d_hi), np.minimum(mb_hi, -d_lo)
        phi = np.where(np.isfinite(phi_lo), phi_lo, np.where(np.isfinite(phi_hi), phi_hi, 0.0))
        phi = np.minimum(phi, phi_hi)
        dr = self._zero_duals()
        dr["beta"] = _share(-phi, boxes, self.combo_active)
        slack_grid = d.block_mw - d.host_ai * a
        shifted = d.margin - pue * phi[None, :]
        mu, lam, pi = d.duals(shifted, x, m, xs >= room, (xs > tier) | (slack_grid < 0), xs >= tier)
        return x, offers, mu, lam, pi, dr

    def _offer_boxes(self, offers: np.ndarray, depth: np.ndarray, o_ann: np.ndarray):
        """The interval ``[d_lo, d_hi]`` (H,) of ``-phi`` and each offer row's box ``(lo, hi)`` (C, H) for its dual."""
        n_h = self.n_h
        d_lo, d_hi = np.zeros(n_h), np.full(n_h, np.inf)
        for k in self.exclusive:
            if self.is_annual[k]:
                continue
            on = self.active[k]
            d_lo = np.where(on & (offers[k] < self.m_cap[k] - TOL_MW), np.maximum(d_lo, self.rate[k]), d_lo)
            d_hi = np.where(on & (offers[k] > TOL_MW), np.minimum(d_hi, self.rate[k]), d_hi)
        n_c = len(self.combos)
        lo, hi = np.zeros((n_c, n_h)), np.zeros((n_c, n_h))
        for ci, combo in enumerate(self.combos):
            exists = self.combo_active[ci]
            own = combo[-1] if self.stack else None
            if own is not None and not self.is_annual[own]:
                on = self.active[own]
                tight = depth <= self.m_cap[own] + TOL_MW
                o = offers[own]
                box_lo = np.where(on & (o < self.m_cap[own] - TOL_MW), self.rate[own], 0.0)
                box_hi = np.where(on & (o > TOL_MW), self.rate[own], np.inf)
                tight = np.where(on, tight, depth <= TOL_MW)
            else:
                held = o_ann[self.annual.index(own)] * self.active[own] if own is not None else np.zeros(n_h)
                tight = depth <= held + TOL_MW
                box_lo, box_hi = np.zeros(n_h), np.full(n_h, np.inf)
            keep = exists & tight
            lo[ci] = np.where(keep, box_lo, 0.0)
            hi[ci] = np.where(keep, box_hi, 0.0)
        return np.maximum(d_lo, lo.sum(axis=0)), np.minimum(d_hi, hi.sum(axis=0)), (lo, hi)

    # -------------------------------------------------------------- the site LP's layout

    def fill_solution(self, block, info: dict, col_value: np.ndarray, col_dual: np.ndarray,
                      row_dual: np.ndarray) -> None:
        """Offers, shed, their duals and the DR rows' duals in the site LP's layout (:mod:`allocator.power.rows`);
        ``info``: ``StructuredOptimum.demand_response``."""
        pm = block.site.power
        dr, (offers, shed) = info["duals"], info["primal"]
        beta, sigma, kappa, gamma = dr["beta"], dr["sigma"], dr["kappa"], dr["gamma"]
        paid = np.zeros_like(self.rate)  # sum of the duals of the rows holding each program's offer
        for ci, combo in enumerate(self.combos):
            for k in combo:
                paid[k] += beta[ci] * self.active[k] + sigma[ci] * self.deployed[k]
        for k, p in enumerate(pm.programs):
            col = block.cols[f"dr_offer:{p.name}"]
            if p.annual:
                j = self.annual.index(k)
                col_value[col] = info["annual_mw"][j]
                col_dual[col] = info["annual_dual"][j]
            else:
                col_value[col] = offers[k]
                col_dual[col] = _snap(self.rate[k] - paid[k], self.rate[k])
        if "dr_shed" in block.cols:
            col_value[block.cols["dr_shed"]] = shed[self.dep_hours]
            reduced = beta.sum(axis=0) + sigma.sum(axis=0) - kappa - gamma
            col_dual[block.cols["dr_shed"]] = _snap(reduced, kappa + gamma)[self.dep_hours]
        for ci in range(len(self.combos)):
            row_dual[block.rows[f"dr_offer__{ci}"]] = beta[ci][self.combo_active[ci]]
            if f"dr_shed__{ci}" in block.rows:
                row_dual[block.rows[f"dr_shed__{ci}"]] = sigma[ci][self.combo_deployed[ci]]
        if self.dep_hours.size:
            row_dual[block.rows["dr_shed_kept"]] = kappa[self.dep_hours]
            row_dual[block.rows["dr_shed_grid"]] = gamma[self.dep_hours]
        col_dual[block.run_cols] += self.pue * (beta.sum(axis=0) - kappa - gamma)[None, :]


def _snap(reduced: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Reduced costs with the rounding of a difference of equal duals set to 0 (an offer without ``max_mw``
    or the shed column has no upper bound that a positive one could price)."""
    return np.where(np.abs(reduced) <= 1e-12 * np.maximum(1.0, np.abs(size)), 0.0, reduced)


def _slope_at(xs: np.ndarray, ends: np.ndarray, slope: np.ndarray, right_side: bool,
              starts: np.ndarray | None = None) -> np.ndarray:
    """The mining slope on the right of ``xs`` (position with ``xs < end``) or on its left
    (``start < xs <= end``); -inf past the last fleet [USD per grid MWh]."""
    out = np.full(xs.shape, -np.inf)
    for k in range(ends.shape[0] - 1, -1, -1):
        inside = xs < ends[k] if right_side else (xs <= ends[k]) & (xs > starts[k])
        out = np.where(inside, slope[k], out)
    return out


def _share(total: np.ndarray, boxes, exists: np.ndarray) -> np.ndarray:
    """Duals ``beta`` (C, H) within their boxes summing to ``total`` (H,) where they can, lowest first."""
    lo, hi = boxes
    beta = lo.copy()
    left = np.maximum(total - lo.sum(axis=0), 0.0)
    for ci in range(lo.shape[0]):
        add = np.minimum(left, hi[ci] - lo[ci])
        beta[ci] += np.where(exists[ci], add, 0.0)
        left = left - np.where(exists[ci], add, 0.0)
    return beta
