"""Fetchers: bring a source's new files into the raw store. Built-ins by name, or a
user's class by dotted path (``package.module:Class``)."""

from __future__ import annotations

import importlib

from pydantic import ValidationError

from bvp.ingestion.fetchers.base import Fetcher
from bvp.ingestion.fetchers.http_index import HttpIndexFetcher
from bvp.ingestion.fetchers.local_dir import LocalDirFetcher
from bvp.ingestion.fetchers.paged_api import PagedApiFetcher

BUILT_IN: dict[str, type[Fetcher]] = {
    "http_index": HttpIndexFetcher,
    "paged_api": PagedApiFetcher,
    "local_dir": LocalDirFetcher,
}


def load_class(name: str, built_in: dict[str, type], base: type, what: str) -> type:
    """A built-in by name, or ``package.module:Class`` / ``package.module.Class``."""
    if name in built_in:
        return built_in[name]
    module_name, _, class_name = name.replace(":", ".").rpartition(".")
    if not module_name:
        known = ", ".join(built_in)
        raise ValueError(f"unknown {what} {name!r}: use one of {known} or a dotted class path")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{what} class {name!r} cannot be imported: {error}") from None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ValueError(f"{what} {name!r} is not a subclass of {base.__module__}.{base.__name__}")
    return found


def make_plugin(name: str, options: dict, built_in: dict[str, type], base: type, what: str):
    """An instance of a built-in or user's class; bad options raise ValueError naming them."""
    cls = load_class(name, built_in, base, what)
    try:
        return cls(options)
    except ValidationError as error:
        raise ValueError(options_problems(error)) from None


def make_fetcher(name: str, options: dict) -> Fetcher:
    return make_plugin(name, options, BUILT_IN, Fetcher, "fetcher")


def options_problems(error: ValidationError) -> str:
    return "; ".join(
        f"options.{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors()
    )
