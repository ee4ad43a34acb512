"""Accounts and users, managed through the API within the rules of the roles."""

from tests.api.conftest import PASSWORD


def new_user(email="new@north.example", roles=("user",), **extra):
    return {"email": email, "password": "a-long-password", "roles": list(roles), **extra}


def test_account_admin_creates_a_user_who_can_log_in(app, as_, world):
    response = as_("account-admin").post("/api/v1/users", json=new_user())
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["roles"] == ["user"] and created["account_id"] == world["north"]["account"]
    assert "password" not in created
    login = app.test_client().post(
        "/api/v1/auth/token", json={"email": "new@north.example", "password": "a-long-password"}
    )
    assert login.status_code == 201


def test_account_admin_cannot_make_admins_or_place_users_elsewhere(as_, world):
    admin_of_north = as_("account-admin")
    refused = admin_of_north.post("/api/v1/users", json=new_user(roles=["admin"]))
    assert refused.status_code == 403
    elsewhere = admin_of_north.post(
        "/api/v1/users", json=new_user(account_id=world["south"]["account"])
    )
    assert elsewhere.get_json()["account_id"] == world["north"]["account"]


def test_users_and_viewers_cannot_create_users(as_):
    for role in ("user", "viewer"):
        assert as_(role).post("/api/v1/users", json=new_user()).status_code == 403


def test_users_of_other_accounts_are_not_found(as_, world):
    south_user = world["south"]["users"]["user"]
    admin_of_north = as_("account-admin")
    assert admin_of_north.get(f"/api/v1/users/{south_user}").status_code == 404
    assert (
        admin_of_north.patch(f"/api/v1/users/{south_user}", json={"active": False}).status_code
        == 404
    )
    listed = {u["email"] for u in admin_of_north.get("/api/v1/users").get_json()}
    assert listed == {f"{r}@north.example" for r in ("admin", "account-admin", "user", "viewer")}
    assert as_("admin", "south").get(f"/api/v1/users/{south_user}").status_code == 200


def test_plain_users_see_only_themselves(as_, world):
    caller = as_("user")
    assert [u["email"] for u in caller.get("/api/v1/users").get_json()] == ["user@north.example"]
    viewer = world["north"]["users"]["viewer"]
    assert caller.get(f"/api/v1/users/{viewer}").status_code == 404


def test_a_user_changes_their_own_password_but_not_their_roles(app, as_, world):
    me = world["north"]["users"]["user"]
    caller = as_("user")
    assert caller.patch(f"/api/v1/users/{me}", json={"roles": ["account-admin"]}).status_code == 403
    changed = caller.patch(f"/api/v1/users/{me}", json={"password": "brand-new-pass"})
    assert changed.status_code == 200
    old = app.test_client().post(
        "/api/v1/auth/token", json={"email": "user@north.example", "password": PASSWORD}
    )
    assert old.status_code == 401


def test_deactivating_a_user_locks_them_out_at_once(as_, world):
    victim = as_("user")
    assert victim.get("/api/v1/sensors").status_code == 200
    user_id = world["north"]["users"]["user"]
    response = as_("account-admin").patch(f"/api/v1/users/{user_id}", json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert victim.get("/api/v1/sensors").status_code == 401


def test_accounts_only_admins_create_and_others_see_their_own(as_, world):
    assert as_("account-admin").post("/api/v1/accounts", json={"name": "east"}).status_code == 403
    created = as_("admin").post("/api/v1/accounts", json={"name": "east", "timezone": "Asia/Tokyo"})
    assert created.status_code == 201
    own = as_("viewer").get("/api/v1/accounts").get_json()
    assert [a["name"] for a in own] == ["north"]
    south = world["south"]["account"]
    assert as_("viewer").get(f"/api/v1/accounts/{south}").status_code == 404
    duplicate = as_("admin").post("/api/v1/accounts", json={"name": "east"})
    assert duplicate.status_code == 409


def test_duplicate_email_and_unknown_roles_are_refused(as_):
    admin = as_("account-admin")
    assert admin.post("/api/v1/users", json=new_user(email="user@north.example")).status_code == 409
    response = admin.post("/api/v1/users", json=new_user(roles=["superuser"]))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"roles": ["Unknown roles: superuser."]}


def test_an_account_admin_cannot_touch_an_admin_of_their_account(app, as_, world):
    admin_id = world["north"]["users"]["admin"]
    account_admin = as_("account-admin")
    for change in ({"password": "taken-over-now"}, {"roles": ["user"]}, {"active": False}):
        response = account_admin.patch(f"/api/v1/users/{admin_id}", json=change)
        assert response.status_code == 403, change
    login = app.test_client().post(
        "/api/v1/auth/token", json={"email": "admin@north.example", "password": PASSWORD}
    )
    assert login.status_code == 201


def test_a_password_change_ends_existing_tokens(as_, world):
    me = as_("user")
    user_id = world["north"]["users"]["user"]
    assert (
        me.patch(f"/api/v1/users/{user_id}", json={"password": "brand-new-pass"}).status_code == 200
    )
    assert me.get("/api/v1/sensors").status_code == 401


def test_a_time_zone_name_too_long_for_a_file_name_is_refused_naming_it(as_, world):
    """Found by fuzzing: the zone database is files, and such a name was a 500."""
    zone = "Europe/" + "x" * 300
    created = as_("admin").post("/api/v1/accounts", json={"name": "east", "timezone": zone})
    assert created.status_code == 422
    assert list(created.get_json()["errors"]) == ["timezone"]
    asset = as_("account-admin").post(
        "/api/v1/assets", json={"name": "a", "asset_type": "pv", "timezone": zone}
    )
    assert asset.status_code == 422 and list(asset.get_json()["errors"]) == ["timezone"]
