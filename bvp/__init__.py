"""BVP: energy time series stored as timed beliefs, forecast by rq workers."""

__version__ = "0.1.0"
