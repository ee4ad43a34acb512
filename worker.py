"""Run a forecasting worker under a process manager: `python worker.py [--burst]`.

Same as `flask run_forecasting_worker`; configuration comes from BVP_* settings.
"""

from bvp.cli.workers import main

if __name__ == "__main__":
    main()
