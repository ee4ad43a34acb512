"""/api/v1/clients: Hawk credentials for machine clients acting as the calling user."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from bvp.api.auth import account_scope, authenticate, current_user, not_found
from bvp.api.errors import NOT_FOUND, errors_documented
from bvp.api.schemas import ApiClientSchema
from bvp.data.models import User
from bvp.data.models.api_clients import (
    clients_in_scope,
    create_client,
    find_client,
    revoke_client,
)
from bvp.data.transactional import transactional

clients = Blueprint("clients", __name__, url_prefix="/api/v1/clients", description="Hawk clients")
clients.before_request(authenticate)


@clients.get("")
@clients.response(200, ApiClientSchema(many=True))
def list_clients():
    """Your own clients (admins: all clients)."""
    with transactional() as session:
        return list(session.scalars(clients_in_scope(_own())))


@clients.post("")
@clients.arguments(ApiClientSchema, required=False)  # every field has a default
@clients.response(201, ApiClientSchema)
def create(data):
    """New Hawk credentials (id and key) acting as you; the key is shown only now."""
    with transactional() as session:
        user = session.get(User, current_user().id)
        client, key = create_client(session, user, data["name"], current_app.config["SECRET_KEY"])
        client.key = key  # not a column: rendered in this response only
        return client


@clients.delete("/<client_id>")
@clients.response(204)
@errors_documented(clients, {404: NOT_FOUND})
def revoke(client_id: str):
    """Revoke one of your clients; its signatures are refused from now on."""
    with transactional() as session:
        client = find_client(session, client_id, _own()) or not_found("client", client_id)
        revoke_client(session, client)


def _own() -> int | None:
    """Whose clients the caller manages: their own (admins: everyone's)."""
    return None if account_scope() is None else current_user().id
