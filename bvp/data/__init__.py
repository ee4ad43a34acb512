"""BVP's data layer: models, sessions, transactions, time-series I/O. Knows no HTTP."""
