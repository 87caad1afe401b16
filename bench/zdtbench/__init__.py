"""Library of the zerodowntime.deploy benchmark (bench/run.py, bench/loadgen.py).

One concept per module: samples (the per-request record), windows (steady / swap / mixed-version
intervals), stats (numbers of one run), targets, markdown, plot (reporting), loadgen (processes
running the collection's request engine), docker_cli / baselines / playbook (strategies),
catalog (which strategies and loads), session (one strategy under one load), machine (what was
measured on what).
"""
