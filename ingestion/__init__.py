"""Offline ingestion fixtures: synthetic source files and a local HTTP server that serves them.

Nothing here touches the network; see ``ingestion/fixtures/README.md``.
"""
