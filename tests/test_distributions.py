"""Monte Carlo distributions: shapes, correlation, reproducibility, friendly errors."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.whatif.distributions import read_distributions
from allocator.errors import InputError

FILE = """seed = 11
[[param]]
path = "a.normal_usd"
dist = "normal"
mean = 10.0
sd = 2.0
[[param]]
path = "a.lognormal_usd"
dist = "lognormal"
median = 100.0
sigma = 0.5
[[param]]
path = "a.uniform_usd"
dist = "uniform"
low = 3.0
high = 5.0
[[param]]
path = "a.triangular_usd"
dist = "triangular"
low = 0.0
mode = 1.0
high = 4.0
[[correlation]]
params = ["a.normal_usd", "a.lognormal_usd"]
rho = 0.8
"""


def test_shapes_and_correlation(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(FILE, encoding="utf-8")
    d = read_distributions(path)
    x = d.sample(40000)
    normal, lognormal, uniform, tri = x.T
    assert normal.mean() == pytest.approx(10.0, abs=0.05) and normal.std() == pytest.approx(2.0, rel=0.02)
    assert np.median(lognormal) == pytest.approx(100.0, rel=0.02)
    assert np.log(lognormal).std() == pytest.approx(0.5, rel=0.02)
    assert uniform.min() >= 3.0 and uniform.max() <= 5.0 and uniform.mean() == pytest.approx(4.0, abs=0.02)
    assert tri.min() >= 0.0 and tri.max() <= 4.0
    assert tri.mean() == pytest.approx(5.0 / 3.0, abs=0.02)                 # (low + mode + high) / 3
    assert np.mean(tri < 1.0) == pytest.approx(0.25, abs=0.01)              # F(mode) = (mode-low)/(high-low)
    # the copula's rho is the correlation of the normal with the log of the lognormal
    assert np.corrcoef(normal, np.log(lognormal))[0, 1] == pytest.approx(0.8, abs=0.01)
    assert abs(np.corrcoef(normal, uniform)[0, 1]) < 0.03
    assert np.array_equal(d.sample(50), d.sample(50))
    assert not np.array_equal(d.sample(50), d.sample(50, seed=12))


def test_every_problem_reported(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('seed = -1\n[[param]]\npath = "x"\ndist = "gamma"\n[[param]]\npath = "y"\ndist = "normal"\n'
                    'mean = 1.0\n[[param]]\npath = "z"\ndist = "uniform"\nlow = 2.0\nhigh = 1.0\n'
                    '[[correlation]]\nparams = ["y", "q"]\nrho = 0.5\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_distributions(path)
    text = str(err.value)
    for part in ("seed", "param[0].dist", "gamma", "param[1].sd", "low 2 is above high 1", "correlation[0].params"):
        assert part in text
