"""CSRF on every state-changing staff page request (issue #6): each POST/PUT/PATCH/DELETE route of
``tally/web``, taken from the app's url_map (so a new form is covered, or fails here for want of
a request in tests/service/test_access_matrix.py's REQUESTS), is refused with 400 ``csrf`` and
changes nothing without a token or with a forged one, and does what it does with the token of the
sender's session, by the person allowed to send it."""

from __future__ import annotations

from service.conftest import make_app
from service.test_access_matrix import REQUESTS, STAFF, TABLE, World, build_world, routes, send, snapshot

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
JSON = {"Accept": "application/json"}


def page_forms(app) -> list[tuple[str, str]]:
    """Every unsafe (endpoint, method) of the staff pages, in the order of the access table (which
    creates what later requests need), from the url_map."""
    found = routes(app)
    unsafe = {(e, m) for e, methods in found.items() for m in methods & UNSAFE
              if app.view_functions[e].__module__.startswith("tally.web.")
              and app.view_functions[e].__module__ != "tally.web.kiosk"}  # the tablet's pages: no cookies
    ordered = [(e, m) for e in TABLE for m in sorted(found.get(e, ())) if (e, m) in unsafe]
    assert set(ordered) == unsafe, f"not in the access table: {unsafe - set(ordered)}"
    return ordered


def _sender(world: World, endpoint: str):
    """A client allowed to send the request: the first allowed role, or a newcomer for public forms."""
    roles = TABLE[endpoint].roles
    if not roles:
        return world.app.test_client()
    return world.pages[next(r for r in STAFF if r in roles)]


def _refused_for_csrf(response) -> bool:
    body = response.get_json(silent=True)
    return response.status_code == 400 and isinstance(body, dict) and body.get("error") == "csrf"


def test_every_page_form_needs_its_csrf_token(database_url, tmp_path):
    app = make_app(database_url, str(tmp_path / "instance"))
    try:
        world = build_world(app)
        forms = page_forms(app)
        assert len(forms) >= 15 and ("staff_web.login", "POST") in forms
        for endpoint, method in forms:
            client = _sender(world, endpoint)
            before = snapshot(app)
            bare = send(world, client, method, REQUESTS[(endpoint, method)](world), headers=JSON)
            assert _refused_for_csrf(bare), (endpoint, method, bare.status_code, bare.get_data()[:200])
            forged = REQUESTS[(endpoint, method)](world)
            if forged.json is not None:
                headers = {**JSON, "X-CSRFToken": "forged"}
            else:
                headers = JSON
                forged.data = {**(forged.data or {}), "csrf_token": "forged"}
            refused = send(world, client, method, forged, headers=headers)
            assert _refused_for_csrf(refused), (endpoint, method, refused.status_code)
            # another session's token is no better
            stranger = app.test_client()
            alien = REQUESTS[(endpoint, method)](world)
            if alien.json is not None:
                headers = {**JSON, "X-CSRFToken": world.csrf(stranger)}
            else:
                headers = JSON
                alien.data = {**(alien.data or {}), "csrf_token": world.csrf(stranger)}
            assert _refused_for_csrf(send(world, client, method, alien, headers=headers)), (endpoint, method)
            assert snapshot(app) == before, f"{endpoint} {method} without a valid token changed something"
            spec = REQUESTS[(endpoint, method)](world)
            done = send(world, client, method, spec, csrf=True)
            assert not _refused_for_csrf(done) and done.status_code in spec.expect, (
                endpoint, method, done.status_code, done.get_data()[:200])
    finally:
        app.extensions["piaojue.engine"].dispose()


def test_the_token_apis_need_no_csrf(app, meeting):
    """The bearer-token staff API, the public API and the kiosk take no CSRF token (they do not
    authenticate by cookie): a POST without one is judged on its merits."""
    from service.conftest import staff_headers

    client = app.test_client()
    presidium = staff_headers(app, "presidium")
    opened = client.post("/api/staff/meetings/m1/votes/v1/open", json={}, headers=presidium)
    assert opened.status_code == 200 and opened.get_json()["state"] == "open"
    checked = client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(meeting.deputies[0]))
    assert checked.status_code == 200
    assert client.post("/kiosk/api/pair", json={"code": "00000000"}).get_json()["error"] == "invalid_pairing"
