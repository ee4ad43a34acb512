"""Run a forecasting worker under a process manager: `python worker.py [--burst]`.

Same as `flask run_forecasting_worker`; configuration comes from BVP_* settings.
"""

import argparse

from bvp.app import create_app
from bvp.forecasting.jobs import JobSettings
from bvp.forecasting.workers import run_in_background, run_worker
from bvp.queues import QUEUE_NAMES

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue", action="append", choices=QUEUE_NAMES)
    parser.add_argument("--name")
    parser.add_argument("--burst", action="store_true")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        priority = run_in_background(app.config["WORKER_NICENESS"])  # horses inherit it
        print(f"Worker {args.name or '(unnamed)'}: CPU priority: {priority}", flush=True)
        run_worker(
            JobSettings.from_config(app.config),
            args.queue or [app.config["FORECAST_QUEUE"], "model-selection"],
            name=args.name,
            burst=args.burst,
            maintenance_seconds=app.config["WORKER_MAINTENANCE_SECONDS"],
            heartbeat_seconds=app.config["JOB_HEARTBEAT_SECONDS"],
            model_threads=app.config["MODEL_THREADS"],
        )
