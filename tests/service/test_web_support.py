"""Helpers for the staff web page tests (accounts, logins, CSRF tokens), and unit tests of the
vote form's line parser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tally.web import logins as web_auth

PASSWORD = "correct horse battery staple"
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_user(app, username: str, role: str, **kwargs: Any) -> None:
    """An account with a fast argon2id hash (the production parameters are tested once)."""
    app.config["STAFF_ARGON2"] = FAST_ARGON2
    with app.app_context():
        web_auth.create_user(username, role, kwargs.pop("password", PASSWORD), actor="test", **kwargs)


def csrf_token(client, path: str = "/staff/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html) or _FIELD.search(html)
    if match is None:  # logged in: /staff/login redirects, the home page has the meta tag
        match = _CSRF.search(client.get("/staff/").get_data(as_text=True))
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, **environ: Any):
    token = csrf_token(client)
    return client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password},
                       environ_base=environ)


def staff_client(app, role: str, username: str | None = None, **kwargs: Any):
    """A test client logged in as a new account of ``role``."""
    username = username or f"{role}-user"
    make_user(app, username, role, **kwargs)
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_form(client, url: str, data: dict[str, Any], **kwargs: Any):
    """POST a form with a valid CSRF token of the client's session."""
    return client.post(url, data={"csrf_token": csrf_token(client, "/staff/"), **data}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


# ------------------------------------------------------------------ the vote form's line parser


@pytest.fixture
def request_context(app):
    with app.test_request_context("/staff/"):
        yield


def test_budgets():
    from tally.web.vote_forms import parse_budget

    assert parse_budget("120000000") == 120_000_000
    assert parse_budget("1.2亿") == 120_000_000
    assert parse_budget("12 000万元") == 120_000_000
    assert parse_budget("3_500") == 3500
    for bad in ("12.5", "abc", "-3", "1e9", ""):
        with pytest.raises(ValueError):
            parse_budget(bad)


def test_entry_lines(request_context):
    from tally.web.vote_forms import parse_entries

    projects, problems = parse_entries(
        "selection", "背街小巷改造,1.2亿,对城区 86 条背街小巷的路面、排水进行改造，含照明\n\n公共厕所，2400万\n口袋公园"
    )
    assert problems == []
    assert projects == [
        {"id": "p01", "label": "背街小巷改造", "budget_cny": 120_000_000,
         "description": "对城区 86 条背街小巷的路面、排水进行改造，含照明"},
        {"id": "p02", "label": "公共厕所", "budget_cny": 24_000_000},
        {"id": "p03", "label": "口袋公园"},
    ]
    nominees, _ = parse_entries("appointment", "王建国,市发展和改革委员会主任\n李秀英")
    assert nominees == [{"id": "n1", "name": "王建国", "post": "市发展和改革委员会主任"}, {"id": "n2", "name": "李秀英"}]
    candidates, _ = parse_entries("election", "刘海燕\t女，1972 年生，市工商联副主席")
    assert candidates == [{"id": "c1", "label": "刘海燕", "description": "女，1972 年生，市工商联副主席"}]
    items, _ = parse_entries("evaluation", "市交通运输局\n市生态环境局")
    assert items == [{"id": "d1", "name": "市交通运输局"}, {"id": "d2", "name": "市生态环境局"}]
    _, problems = parse_entries("selection", "甲,很多钱\n乙,100\n乙,200")
    assert [line for line, _ in problems] == [1, 3]
    _, problems = parse_entries("evaluation", "  \n")
    assert len(problems) == 1
