"""Whatever a user can type into a URL or a form: a clear answer, never a 500, nothing changed."""

from __future__ import annotations

import pytest

from tests.conftest import page_token, record_figure, signed_in_client

HOSTILE_VALUES = [
    "99999999999999999999999",
    "-1",
    "0",
    "abc",
    "1.5",
    "'; DROP TABLE user_account; --",
    "%",
    "_",
    "光伏" * 3000,
    "\u202e\u200b",
    "<script>alert(1)</script>",
    "2026-02-30",
    "9999-99-99",
    "9999-12-31",  # a real day whose next midnight Python cannot hold
    "0001-01-01",  # a real day whose Shanghai midnight is before year 1 in UTC
    "2026-W01-1",  # ISO week date: not what a date field sends
    "²",  # str.isdigit() says yes, int() says no
    "①",
    "１２",  # full-width digits: a number
    "9" * 5000,  # more digits than int() converts
]
QUERY_NAMES = [
    "tenant",
    "page",
    "q",
    "kind",
    "role",
    "status",
    "action",
    "actor",
    "from",
    "to",
    "next",
    "min",
    "max",
    "chain",
    "stage",
    "list",
    "sort",
    "year",
    "state",
    "tab",
    "overdue",
    "category",
    "validity",
    "scope",
    "rule",
    "order",
    "filter",
]


def _get_routes(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    ]


@pytest.mark.parametrize("login_name", ["city.admin", "county-a.admin"])
def test_hostile_query_strings_never_cause_a_server_error(app, http_world, login_name):
    app.config["PROPAGATE_UNEXPECTED"] = False
    client = signed_in_client(app, login_name)
    tried = 0
    for rule in _get_routes(app):
        for name in QUERY_NAMES:
            for value in HOSTILE_VALUES:
                response = client.get(rule.rule, query_string={name: value})
                tried += 1
                assert response.status_code < 500, (rule.rule, name, value[:20])
                assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    record_figure(f"hostile query strings ({login_name})", f"{tried} requests, no server error")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/99999999999999999999999/edit",
        "/admin/users/0/edit",
        "/admin/users/-1/edit",
        "/admin/tenants/4294967296/edit",
    ],
)
def test_out_of_range_ids_are_not_found(app, http_world, path):
    client = signed_in_client(app, "city.admin")
    assert client.get(path).status_code == 404


def test_control_characters_are_refused_with_a_chinese_message(app, http_world):
    client = signed_in_client(app, "county-a.admin")
    token = page_token(client)
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "login_name": "county-a.nul\x00",
            "display_name": "空\x00字符",
            "roles": "officer",
            "password": "Temp-pass-2026",
        },
    )
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)
    assert "county-a.nul" not in client.get("/admin/users").get_data(as_text=True)
    assert client.get("/admin/users", query_string={"q": "a\x00b"}).status_code == 400


@pytest.mark.parametrize("value", ["+5", "1_0", " 5 ", "5.0", "0", "-1", "2147483648", "²"])
def test_an_id_is_digits_and_nothing_else(value):
    """An id in a form or query string: int() alone would read "+5" and "1_0" as 5 and 10."""
    from portal.ids import parse_id

    assert parse_id(value) == (5 if value == " 5 " else None)
