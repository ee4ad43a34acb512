"""All models, imported here so the metadata (and alembic) sees every table."""

from bvp.data.models.accounts import ROLE_NAMES, Account, Role, User, user_roles
from bvp.data.models.api_clients import ApiClient
from bvp.data.models.assets import Asset
from bvp.data.models.auth_tokens import AuthToken
from bvp.data.models.beliefs import NewestMeasurement, TimedBelief
from bvp.data.models.data_sources import SOURCE_TYPES, DataSource
from bvp.data.models.forecast_outbox import ForecastOutbox
from bvp.data.models.job_runs import JobRun
from bvp.data.models.model_selection import ModelSelection
from bvp.data.models.sensors import Sensor
from bvp.data.models.trained_models import TrainedModel

__all__ = [
    "ROLE_NAMES",
    "SOURCE_TYPES",
    "Account",
    "ApiClient",
    "Asset",
    "AuthToken",
    "DataSource",
    "ForecastOutbox",
    "JobRun",
    "ModelSelection",
    "NewestMeasurement",
    "Role",
    "Sensor",
    "TimedBelief",
    "TrainedModel",
    "User",
    "user_roles",
]
