"""``evalray dashboard``: a local, read-only web app over a directory of runs (Starlette + plotly, served offline).

:mod:`~evalray.dashboard.runs` finds and reads runs, :mod:`~evalray.dashboard.samples` pages the per-sample Parquet
files server-side, :mod:`~evalray.dashboard.comparison` compares runs or models, :mod:`~evalray.dashboard.app` holds
the routes and :mod:`~evalray.dashboard.server` the safe start-up (loopback only unless told otherwise).
"""
