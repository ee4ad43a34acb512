"""/api/v1/assets: the assets of the caller's account (all accounts for admins)."""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from bvp.api.auth import (
    ADMIN,
    MANAGE_ROLES,
    account_scope,
    authenticate,
    current_user,
    not_found,
    require_role,
)
from bvp.api.errors import FORBIDDEN, NOT_FOUND, errors_documented, flush_or_conflict
from bvp.api.schemas import AssetSchema
from bvp.data.models import Account, Asset
from bvp.data.models.assets import assets_in_scope, find_asset
from bvp.data.transactional import transactional

assets = Blueprint("assets", __name__, url_prefix="/api/v1/assets", description="Assets")
assets.before_request(authenticate)


@assets.get("")
@assets.response(200, AssetSchema(many=True))
def list_assets():
    """Assets you can see."""
    with transactional() as session:
        return list(session.scalars(assets_in_scope(account_scope())))


@assets.post("")
@assets.arguments(AssetSchema)
@assets.response(201, AssetSchema)
@errors_documented(
    assets,
    {
        403: "Only admins and account admins create assets.",
        409: "An asset with this name exists in the account.",
    },
)
def create_asset(data):
    """Create an asset in your account (admins: in any account, via account_id)."""
    require_role(MANAGE_ROLES, "creating assets")
    with transactional() as session:
        account_id = data.pop("account_id", None)
        if account_id is None or not current_user().has_role(ADMIN):
            account_id = current_user().account_id
        elif session.get(Account, account_id) is None:
            abort(422, message="Unknown account.", errors={"account_id": ["No such account."]})
        asset = Asset(account_id=account_id, **data)
        session.add(asset)
        flush_or_conflict(session, "name", "An asset with this name exists in the account.")
        return asset


@assets.get("/<int:asset_id>")
@assets.response(200, AssetSchema)
@errors_documented(assets, {404: NOT_FOUND})
def get_asset(asset_id: int):
    with transactional() as session:
        return find_asset(session, asset_id, account_scope()) or not_found("asset", asset_id)


@assets.patch("/<int:asset_id>")
@assets.arguments(AssetSchema(partial=True, exclude=("account_id",)))
@assets.response(200, AssetSchema)
@errors_documented(
    assets,
    {403: FORBIDDEN, 404: NOT_FOUND, 409: "An asset with this name exists in the account."},
)
def update_asset(data, asset_id: int):
    with transactional() as session:
        asset = find_asset(session, asset_id, account_scope()) or not_found("asset", asset_id)
        require_role(MANAGE_ROLES, "changing assets")
        for key, value in data.items():
            setattr(asset, key, value)
        flush_or_conflict(session, "name", "An asset with this name exists in the account.")
        return asset


@assets.delete("/<int:asset_id>")
@assets.response(204)
@errors_documented(assets, {403: FORBIDDEN, 404: NOT_FOUND})
def delete_asset(asset_id: int):
    """Delete an asset with its sensors and their data."""
    with transactional() as session:
        asset = find_asset(session, asset_id, account_scope()) or not_found("asset", asset_id)
        require_role(MANAGE_ROLES, "deleting assets")
        session.delete(asset)
