"""Redis connection and BVP's named rq queues: their depths, their workers, and what
an operator does to them (requeue the failed jobs, drop the waiting ones)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from redis import Redis
from rq import Queue, Worker

QUEUE_NAMES = ("forecasting", "model-selection", "scheduling")


@lru_cache(maxsize=8)
def redis_connection(url: str) -> Redis:
    # Short timeouts: a dead Redis must not hang a request that already stored its data.
    return Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)


def get_queue(connection: Redis, name: str = "forecasting") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)


def queue_status(connection: Redis) -> dict:
    """Workers alive and jobs waiting per queue (raises RedisError if Redis is down)."""
    workers = workers_alive(connection)
    waiting = {name: get_queue(connection, name).count for name in QUEUE_NAMES}
    return {
        "workers": len(workers),
        "queues": waiting,
        "unserved": unserved_queues(waiting, workers),
    }


def unserved_queues(waiting: dict[str, int], workers: list[dict]) -> list[str]:
    """Queues with jobs waiting that no live worker (``workers_alive``) listens on: those
    jobs wait for ever until a worker is started for them."""
    served = {name for worker in workers for name in worker["queues"]}
    return [name for name, count in waiting.items() if count and name not in served]


def queue_depths(connection: Redis, names: Iterable[str] = QUEUE_NAMES) -> list[dict]:
    """Per queue: jobs waiting, running, scheduled, failed and finished."""
    depths = []
    for name in names:
        queue = get_queue(connection, name)
        depths.append(
            {
                "name": name,
                "waiting": queue.count,
                "running": queue.started_job_registry.count,
                "scheduled": queue.scheduled_job_registry.count,
                "failed": queue.failed_job_registry.count,
                "finished": queue.finished_job_registry.count,
            }
        )
    return depths


def workers_alive(connection: Redis) -> list[dict]:
    """Every live worker: name, state, queues, last heartbeat and current job."""
    alive = [
        {
            "name": worker.name,
            "state": str(getattr(worker.get_state(), "value", worker.get_state())),
            "queues": worker.queue_names(),
            "last_heartbeat": worker.last_heartbeat,
            "current_job": worker.get_current_job_id(),
        }
        for worker in Worker.all(connection=connection)
    ]
    return sorted(alive, key=lambda w: w["name"])


def requeue_failed(connection: Redis, names: Iterable[str] = QUEUE_NAMES) -> int:
    """Put the failed jobs of queues back on them; how many."""
    total = 0
    for name in names:
        registry = get_queue(connection, name).failed_job_registry
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            total += 1
    return total


def drop_waiting(connection: Redis, names: Iterable[str] = QUEUE_NAMES) -> int:
    """Drop the jobs waiting on queues (running jobs go on); how many."""
    return sum(get_queue(connection, name).empty() for name in names)
