"""Forecasting models: pure functions of pandas data; no session, no Redis."""
