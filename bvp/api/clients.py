"""/api/v1/clients: Hawk credentials for machine clients acting as the calling user."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select

from bvp.api.auth import account_scope, authenticate, current_user, not_found
from bvp.api.schemas import ApiClientSchema
from bvp.data.models import ApiClient, User
from bvp.data.models.api_clients import create_client, revoke_client
from bvp.data.transactional import transactional

clients = Blueprint("clients", __name__, url_prefix="/api/v1/clients", description="Hawk clients")
clients.before_request(authenticate)


@clients.get("")
@clients.response(200, ApiClientSchema(many=True))
def list_clients():
    """Your own clients (admins: all clients)."""
    with transactional() as session:
        query = select(ApiClient).order_by(ApiClient.id)
        if account_scope() is not None:
            query = query.where(ApiClient.user_id == current_user().id)
        return list(session.scalars(query))


@clients.post("")
@clients.arguments(ApiClientSchema)
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
def revoke(client_id: str):
    """Revoke one of your clients; its signatures are refused from now on."""
    with transactional() as session:
        query = select(ApiClient).where(ApiClient.client_id == client_id)
        if account_scope() is not None:
            query = query.where(ApiClient.user_id == current_user().id)
        client = session.scalar(query) or not_found("client", client_id)
        revoke_client(session, client)
