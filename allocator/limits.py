"""Plausibility limits of input values, shared by the site, plan and portfolio schemas.

Far beyond any real campus or company, yet small enough that the LP stays well
scaled (HiGHS treats 1e20 as infinity; a 1e300 price overflows).
"""

MAX_MW = 100_000.0                        # 100 GW
MIN_SITE_MW = 0.001                       # 1 kW: a smaller grid connection is a typo
MAX_USD_PER_MWH = 100_000.0               # power prices and adders; ERCOT's cap is 5,000
MAX_HASHPRICE_USD_PER_PH_DAY = 1_000_000.0
MAX_RATE_USD_PER_KW_MONTH = 10_000.0
MAX_CAPEX_USD_PER_MW = 1.0e9
MAX_OPEX_USD_PER_MW_YEAR = 1.0e8
MAX_BUDGET_USD = 1.0e15                   # a portfolio's capex budget: a thousand trillion USD
MAX_HASHRATE_PH = 1.0e9                   # PH/s; the whole network was about 1e6 PH/s in 2026
MAX_BTC_PRICE_USD = 1.0e9
MIN_DIFFICULTY = 1.0
MAX_DIFFICULTY = 1.0e20
MAX_FEES_BTC_PER_BLOCK = 1000.0
MAX_USD_PER_TH = 1.0e6                    # an ASIC's price per TH/s; 2026 machines cost about 15
MAX_SCENARIOS = 1_000_000                 # per site in one sweep: a grid's product of points, or --samples
