"""Ingestion: pulling external sources in from a manifest, idempotently, as timed beliefs.

manifest (what sources exist) -> fetchers (bring new files into the raw store) ->
importers (files to beliefs through ``save_beliefs``) -> after-import actions
(forecasts, views, webhooks); the datafile registry and load runs record it all.
"""
