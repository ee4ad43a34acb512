"""Redis connection and BVP's named rq queues."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

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
    from rq import Worker

    workers = Worker.all(connection=connection)
    waiting = {name: get_queue(connection, name).count for name in QUEUE_NAMES}
    return {
        "workers": len(workers),
        "queues": waiting,
        "unserved": unserved_queues(waiting, workers),
    }


def unserved_queues(waiting: dict[str, int], workers) -> list[str]:
    """Queues with jobs waiting that no live worker listens on: those jobs wait for ever
    until a worker is started for them."""
    served = {name for worker in workers for name in worker.queue_names()}
    return [name for name, count in waiting.items() if count and name not in served]
