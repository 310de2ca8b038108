"""The deployment hours of demand response in the structured solver: one small LP, re-solved warm.

In an hour where some program deploys, the shed MW ``s_t`` joins the hour
(:func:`allocator.power.rows.add_demand_response`): deployed offers must be
shed, shed MW count against the kept fleet and the grid cap but draw nothing.
These hours are few (a handful a year), so instead of a closed form they are
one HiGHS LP holding, for every deployment hour, the site LP's own columns
(``x_{f,t}``, the physical block's ``y_t``, the hourly offers, ``s_t``) and rows
(``grid_limit``, ``run_limit``, ``physical_contract``, ``dr_offer__c``,
``dr_shed__c``, ``dr_shed_kept``, ``dr_shed_grid``), with the first stage
``(a, m, O)`` in the right-hand sides. Each first stage changes only those
bounds, and the row duals are those of the site LP's rows of the same hours.
"""

from __future__ import annotations

import numpy as np


class DeploymentHours:
    """One HiGHS LP of every deployment hour, with the site LP's columns and rows of those hours."""

    def __init__(self, dr) -> None:
        """``dr``: the site's :class:`allocator.lp.structured_dr.DemandResponse`."""
        import highspy

        from .solve import exact_simplex_highs

        d = dr.dispatch
        site = dr.site
        fleets = site.config.mining.fleet
        n_f = len(fleets)
        pue = dr.pue
        self.dr = dr
        self.h = h = exact_simplex_highs()
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        lower, upper, cost = [], [], []

        def column(lo, up, c):
            lower.append(lo)
            upper.append(up)
            cost.append(c)
            return len(cost) - 1

        rows: list[tuple[str, int, int, list[int], list[float]]] = []  # (kind, hour, index, cols, coefs)
        self.x_cols, self.o_cols, self.s_cols, self.y_cols = [], [], [], []
        for t in dr.dep_hours:
            xc = [column(0.0, min(f.mw, site.grid_cap_mw[t] / pue), float(d.margin[f_i, t]))
                  for f_i, f in enumerate(fleets)]
            held = d.bonus_usd_per_mwh[t] > 0
            yc = column(0.0, float(d.block_mw[t]), float(d.bonus_usd_per_mwh[t])) if held else -1
            oc = {k: column(0.0, float(dr.max_mw[k]), float(dr.rate[k, t]))
                  for k in range(len(dr.max_mw)) if dr.active[k, t] and not dr.is_annual[k]}
            sc = column(0.0, np.inf, 0.0)
            self.x_cols.append(xc)
            self.o_cols.append(oc)
            self.s_cols.append(sc)
            self.y_cols.append(yc)
            run = (xc, [pue] * n_f)
            rows.append(("grid", t, 0, *run))
            for f_i in range(n_f):
                rows.append(("run", t, f_i, [xc[f_i]], [1.0]))
            if held:
                rows.append(("physical", t, 0, [yc] + xc, [1.0] + [-pue] * n_f))
            for ci, combo in enumerate(dr.combos):
                if dr.combo_active[ci, t]:
                    offered = [oc[k] for k in combo if k in oc]
                    rows.append(("offer", t, ci, offered + xc + [sc], [1.0] * len(offered) + [-pue] * n_f + [-1.0]))
                if dr.combo_deployed[ci, t]:
                    dep = [oc[k] for k in combo if k in oc and dr.deployed[k, t]]
                    rows.append(("shed", t, ci, dep + [sc], [1.0] * len(dep) + [-1.0]))
            rows.append(("kept", t, 0, [sc] + xc, [1.0] + [pue] * n_f))
            rows.append(("grid_shed", t, 0, [sc] + xc, [1.0] + [pue] * n_f))
        h.addVars(len(cost), np.array(lower, float), np.array(upper, float))
        h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), np.array(cost, float))
        for _, _, _, cols, coefs in rows:
            h.addRow(-np.inf, np.inf, len(cols), np.array(cols, np.int32), np.array(coefs, float))
        self.rows = rows
        self.n_cols = len(cost)

    def solve(self, a, m, held, held_dep, room, x, offers, shed, mu, lam, pi, dr_duals) -> None:
        """Solve every deployment hour at ``(a, m, O)`` and write its primal and duals into the arrays."""
        import highspy

        from ..errors import Problem, SolverError
        from .solve import raise_if_interrupted, run

        dr, d = self.dr, self.dr.dispatch
        pue = dr.pue
        kept = pue * float(np.sum(m))
        upper = np.empty(len(self.rows))
        for i, (kind, t, idx, _, _) in enumerate(self.rows):
            upper[i] = {"grid": room[t], "run": m[idx] if kind == "run" else 0.0,
                        "physical": d.host_ai[t] * a, "offer": -held[idx, t] if kind == "offer" else 0.0,
                        "shed": -held_dep[idx, t] if kind == "shed" else 0.0, "kept": kept,
                        "grid_shed": room[t]}[kind]
        n = len(self.rows)
        self.h.changeRowsBounds(n, np.arange(n, dtype=np.int32), np.full(n, -np.inf), upper)
        run(self.h)
        raise_if_interrupted(self.h)
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError([Problem("--solver structured", "a deployment hour's LP returned "
                                       f"{self.h.modelStatusToString(self.h.getModelStatus())!r}.",
                                       "Rerun with --solver highs.")])
        sol = self.h.getSolution()
        col = np.asarray(sol.col_value, float)
        row = np.asarray(sol.row_dual, float)
        row = np.where(upper > -np.inf, np.maximum(row, 0.0), 0.0)  # <= rows: d(objective)/d(bound) >= 0
        for t_i, t in enumerate(dr.dep_hours):
            x[:, t] = np.clip(col[self.x_cols[t_i]], 0.0, None)
            offers[:, t] = 0.0
            for k, c in self.o_cols[t_i].items():
                offers[k, t] = max(col[c], 0.0)
            shed[t] = max(col[self.s_cols[t_i]], 0.0)
            mu[t], lam[:, t], pi[t] = 0.0, 0.0, 0.0
            for key in ("beta", "sigma"):
                dr_duals[key][:, t] = 0.0
        for i, (kind, t, idx, _, _) in enumerate(self.rows):
            if kind == "grid":
                mu[t] = row[i] * pue
            elif kind == "run":
                lam[idx, t] = row[i]
            elif kind == "physical":
                pi[t] = row[i]
            elif kind == "offer":
                dr_duals["beta"][idx, t] = row[i]
            elif kind == "shed":
                dr_duals["sigma"][idx, t] = row[i]
            elif kind == "kept":
                dr_duals["kappa"][t] = row[i]
            else:
                dr_duals["gamma"][t] = row[i]
