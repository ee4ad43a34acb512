"""Forecasting: models (pure functions of pandas data), pipelines and jobs."""
