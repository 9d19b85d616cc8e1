"""Nothing personal in the logs: route templates and request ids only, also on errors.

Logs cannot be erased by a permanent deletion, so an e-mail used as a source_id must never
reach them: not from an access line, not from an error's message or traceback, not from the
worker. The black-box test provokes every error class the server answers (and a failing job
row) with an e-mail in the path, the query and the body, then searches the server's log.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
from urllib.parse import quote

from patrons.core.errors import InternalError
from patrons.http.errors import unexpected
from patrons.observability import JsonFormatter, TextFormatter
from tests.factories import create_customer
from tests.test_bad_input_corpus import Case, send_raw


def _forms(email: str) -> list[str]:
    """The e-mail as it could appear: raw, percent-encoded, JSON-escaped local part."""
    local = email.split("@")[0]
    return [email, quote(email, safe=""), local]


def test_errors_and_jobs_leave_no_email_in_the_log(server, project, api, anon) -> None:
    email = f"private.{secrets.token_hex(6)}@example.org"
    encoded = quote(email, safe="")
    create_customer(api, source_id=email, email=email, name="Private Person")
    # 400 (body, query), 401, 404 (unknown id, odd paths with and without keys), 405, 413, 415.
    api.post("/v1/customers", json={"source_id": email, "email": 5})
    api.get("/v1/customers", params={"email": email, "limit": "0"})
    anon.get(f"/v1/customers/{encoded}")
    api.get(f"/v1/customers/{encoded}x")
    api.get(f"/v1/customers/{encoded}/activity", params={"starting_after_id": email})
    for path in (f"//v1/customers/{email}", f"/v1//customers/{encoded}"):
        send_raw(server.base_url, Case("odd", "GET", path), project.headers)
        send_raw(server.base_url, Case("odd", "GET", path), {})
    api.patch(f"/v1/customers/{encoded}", json={"email": email})
    api.post(
        f"/v1/customers/{encoded}", content=email.encode(), headers={"Content-Type": "text/plain"}
    )
    send_raw(
        server.base_url,
        Case("413", "POST", "/v1/customers/bulk/async", b"[]"),
        {**project.headers, "Content-Length": str(1 << 40)},
    )
    api.post("/v1/customers", content=('{"name": "' + email + '"').encode())
    # A job whose row fails (a name over the limit) reports it in the result, not the log.
    response = api.post(
        "/v1/customers/bulk/async", json=[{"source_id": email, "name": "n" * 10_000}]
    )
    assert response.status_code == 202, response.text
    action = response.json()["async_action_id"]
    deadline = time.monotonic() + 20
    while api.get(f"/v1/async-actions/{action}").json()["status"] not in ("DONE", "FAILED"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)  # access lines are flushed at most 50 ms late
    log = server.log.read_text(errors="replace")
    assert "/v1/customers/{customer_id}" in log  # the access lines are there, by template
    for form in _forms(email):
        assert form not in log


class Boom(Exception):
    pass


def _record_of(exc: BaseException) -> logging.LogRecord:
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    logger = logging.getLogger("patrons.api")
    handler = Keep()
    logger.addHandler(handler)
    try:
        assert isinstance(
            unexpected(exc, "GET", "/v1/customers/{customer_id}", "v-1"), InternalError
        )
    finally:
        logger.removeHandler(handler)
    (record,) = captured
    return record


def _raise_chain(email: str) -> BaseException:
    try:
        try:
            raise KeyError(email)
        except KeyError as inner:
            raise Boom(f"duplicate key (source_id)=({email})") from inner
    except Boom as exc:
        return exc


class TestUnexpectedErrors:
    def test_json_line_names_the_template_and_request_id_without_messages(self) -> None:
        email = "leak@example.org"
        line = JsonFormatter().format(_record_of(_raise_chain(email)))
        assert email not in line
        entry = json.loads(line)
        assert entry["route"] == "/v1/customers/{customer_id}"
        assert entry["request_id"] == "v-1"
        assert "Boom" in entry["exc"]  # exception types and frames stay
        assert "KeyError" in entry["exc"]

    def test_text_format_drops_messages_too(self) -> None:
        email = "leak@example.org"
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(TextFormatter("%(levelname)s %(message)s"))
        handler.emit(_record_of(_raise_chain(email)))
        assert email not in stream.getvalue()
        assert "Boom" in stream.getvalue()
