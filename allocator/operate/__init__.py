"""Operating an installed split: the day's plan (``operate``) and replays of history (``backtest``).

``split`` reads the installed split (the site file's fleets and signed leases, or a
``solve`` run folder's), ``day`` solves the LP of one operating day with that split
fixed and reads each fleet's stand-down price from its duals, ``native`` keeps price
data at its own resolution (15-minute intervals), ``backtest`` replays the policies.
"""
