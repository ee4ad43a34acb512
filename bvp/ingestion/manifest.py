"""The ingestion manifest: which external sources exist and how each is fetched and imported.

A YAML (or JSON) file, validated on load so that a mistake is reported with the source
and field it is in, before anything is downloaded. ``${NAME}`` in a string value is
replaced by the environment variable NAME (for base URLs and secrets that must not live
in the file); an unset variable is an error unless a default is given: ``${NAME:-default}``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bvp.ingestion.fields import Duration, Regex, TimeZone, Unit, parse_human_duration

MANUAL_TAG = "core_data"
SOURCE_ID = r"^[a-z][a-z0-9_]{0,79}$"


class ManifestError(ValueError):
    """The manifest cannot be used; every problem names its source and field."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensorSpec(Strict):
    """A sensor the manifest imports into; made on first use if it does not exist."""

    account: str
    asset: str
    asset_type: str = "site"
    name: str
    unit: Unit
    resolution: Duration
    timezone: TimeZone = "UTC"

    @property
    def event_resolution(self) -> timedelta:
        return parse_human_duration(self.resolution)


class FetcherSpec(Strict):
    """A built-in fetcher (``http_index``, ``paged_api``, ``local_dir``) or a dotted path
    to a user's class (``package.module:ClassName`` or ``package.module.ClassName``)."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ImporterSpec(Strict):
    name: str  # csv, json_records, parquet, or a dotted path to a user's importer class
    files: Regex  # applies to files whose name matches (re.search)
    options: dict[str, Any] = Field(default_factory=dict)

    def sensor_targets(self) -> dict[str, str]:
        """Column -> the manifest sensor key it goes to (``columns: {price: day_ahead}``
        or ``{price: {sensor: day_ahead, unit: ...}}``); nothing when not a mapping."""
        columns = self.options.get("columns")
        if not isinstance(columns, dict):
            return {}
        return {c: t.get("sensor") if isinstance(t, dict) else t for c, t in columns.items()}


def _web_url(text: str) -> str:
    if not re.match(r"^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$", text):
        raise ValueError("not an http(s) URL")
    return text


class WebhookAction(Strict):
    webhook: Annotated[str, AfterValidator(_web_url)]  # Slack-compatible JSON summary


class RefreshViewAction(Strict):
    refresh_materialized_view: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")]


AfterImport = Literal["enqueue_forecasts"] | WebhookAction | RefreshViewAction


class Source(Strict):
    id: Annotated[str, Field(pattern=SOURCE_ID)]
    title: Annotated[str, Field(min_length=1)]
    description: Annotated[str, Field(min_length=1)]
    tags: Annotated[list[str], Field(min_length=1)]
    fetcher: FetcherSpec | None = None
    importers: list[ImporterSpec] = Field(default_factory=list)
    after_import: list[AfterImport] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    index_url: str | None = None
    urls: list[str] = Field(default_factory=list)
    publication_schedule: str | None = None  # e.g. "daily", "hourly", "P1D"; shown by status
    publication_lag: Duration | None = None  # e.g. "PT2H" or "2 hours"

    @property
    def is_manual(self) -> bool:
        return self.fetcher is None and MANUAL_TAG in self.tags

    @model_validator(mode="after")
    def _fetched_or_manual(self) -> Source:
        if self.fetcher is None and MANUAL_TAG not in self.tags:
            raise ValueError(
                f"a source without a fetcher is a manual source and needs the tag {MANUAL_TAG!r}"
            )
        return self

    def sensor_keys(self) -> set[str]:
        """The manifest sensors this source's importers write to."""
        return {key for spec in self.importers for key in spec.sensor_targets().values()}

    def importer_for(self, filename: str) -> ImporterSpec | None:
        return next((i for i in self.importers if re.search(i.files, filename)), None)


class Manifest(Strict):
    sensors: dict[str, SensorSpec] = Field(default_factory=dict)
    sources: Annotated[list[Source], Field(min_length=1)]

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for source in sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} appears twice")
            seen.add(source.id)
        return sources

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise KeyError(f"no source {source_id!r} in the manifest (it has: {known})")

    def in_dependency_order(self, only: list[str] | None = None) -> list[Source]:
        """Sources with every dependency before its dependents (stable otherwise)."""
        order = TopologicalSorter({s.id: s.depends_on for s in self.sources}).static_order()
        wanted = set(only) if only is not None else None
        return [self.source(i) for i in order if wanted is None or i in wanted]


# libyaml's parser where PyYAML was built with it: 4.5 times as fast on a large manifest.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Manifests read, by file (path, modification time and size) and environment (what
# ${NAME} expands to): the dashboard's ingestion page reads it on every request, and a
# manifest of 10,000 sensors takes a second to parse and check (bench/fleet_pages.py).
_READ: dict[tuple, Manifest] = {}
_READ_KEPT = 4


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate the manifest; ``ManifestError`` lists every problem found. The
    same file in the same environment is read once per process (until it changes)."""
    path = Path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, frozenset(os.environ.items()))
    except OSError:
        key = None  # read_text says why
    if key in _READ:
        return _READ[key]
    manifest = _read_manifest(path)
    if key is not None:
        while len(_READ) >= _READ_KEPT:
            del _READ[next(iter(_READ))]
        _READ[key] = manifest
    return manifest


def _read_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(path, [f"cannot be read: {error.strerror or error}"]) from None
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # JSON is YAML too; safe: plain data only
    except yaml.YAMLError as error:
        raise ManifestError(path, [f"is not valid YAML/JSON: {error}"]) from None
    if not isinstance(raw, dict):
        raise ManifestError(path, ["must be a mapping with a 'sources' list"])
    problems: list[str] = []
    expanded = _expand_environment(raw, "", problems)
    if problems:
        raise ManifestError(path, [_name_source(raw, p) for p in problems])
    raw = expanded
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as error:
        raise ManifestError(path, [_describe(raw, e) for e in error.errors()]) from None
    problems = _reference_problems(manifest)
    if problems:
        raise ManifestError(path, problems)
    return manifest


def _reference_problems(manifest: Manifest) -> list[str]:
    problems = []
    ids = {s.id for s in manifest.sources}
    for source in manifest.sources:
        problems += _plugin_problems(source)
        for i, dependency in enumerate(source.depends_on):
            if dependency not in ids:
                problems.append(
                    f"source {source.id!r}, field depends_on[{i}]: unknown source {dependency!r}"
                )
        for i, importer in enumerate(source.importers):
            for column, key in importer.sensor_targets().items():
                if key not in manifest.sensors:
                    problems.append(
                        f"source {source.id!r}, field importers[{i}].options.columns.{column}: "
                        f"sensor {key!r} is not declared under 'sensors'"
                    )
    if not problems:
        try:
            TopologicalSorter({s.id: s.depends_on for s in manifest.sources}).prepare()
        except CycleError as error:
            cycle = " -> ".join(error.args[1])
            problems.append(f"field depends_on: dependency cycle {cycle}")
    return problems


def _plugin_problems(source: Source) -> list[str]:
    """Fetcher and importer names and options, checked by making them once."""
    from bvp.ingestion.fetchers import make_fetcher
    from bvp.ingestion.importers import make_importer

    plugins = [("fetcher", source.fetcher, make_fetcher)] if source.fetcher else []
    plugins += [(f"importers[{i}]", spec, make_importer) for i, spec in enumerate(source.importers)]
    problems = []
    for where, spec, make in plugins:
        try:
            make(spec.name, spec.options)
        except ValueError as error:
            for problem in str(error).split("; "):
                field = (
                    f"{where}.{problem}"
                    if problem.startswith("options.")
                    else f"{where}.name: {problem}"
                )
                problems.append(f"source {source.id!r}, field {field}")
    return problems


def _describe(raw: dict, error: dict) -> str:
    """'source 'prices', field importers[0].files: <message>' from a pydantic error."""
    location = list(error["loc"])
    prefix = ""
    if len(location) >= 2 and location[0] == "sources" and isinstance(location[1], int):
        sources = raw.get("sources") or []
        index = location[1]
        source_id = sources[index].get("id") if isinstance(sources[index], dict) else None
        prefix = f"source {source_id!r}, " if source_id else f"sources[{index}], "
        location = location[2:]
    elif len(location) >= 2 and location[0] == "sensors":
        prefix = f"sensor {location[1]!r}, "
        location = location[2:]
    # Union members show up as extra path parts ("function-after[...]", "WebhookAction").
    parts = [p for p in location if not (isinstance(p, str) and ("[" in p or p[:1].isupper()))]
    field = ""
    for part in parts:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    message = error["msg"].removeprefix("Value error, ")
    return f"{prefix}field {field or '(top level)'}: {message}"


def _name_source(raw: dict, problem: str) -> str:
    """'sources[0].fetcher.x: ...' -> "source 'prices', field fetcher.x: ..."."""
    match = re.match(r"^sources\[(\d+)\]\.(.*)$", problem, re.DOTALL)
    sources = raw.get("sources")
    if not match or not isinstance(sources, list) or not isinstance(sources[int(match[1])], dict):
        return f"field {problem}"
    return f"source {sources[int(match[1])].get('id')!r}, field {match[2]}"


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_environment(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _expand_environment(v, f"{where}.{k}" if where else k, problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand_environment(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, str):

        def replace(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            problems.append(f"{where}: environment variable {name} is not set")
            return ""

        return _VARIABLE.sub(replace, value)
    return value
