"""The cockpit (/cockpit) against a real server on both databases: sign-in, the session
cookie, origin and CSRF checks, project scoping, search, paging, a customer's orders and
redemptions, edit, delete, jobs, segments."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from patrons.db import database
from patrons.projects import service as projects
from tests.conftest import Project, Server, start_server
from tests.factories import create_voucher

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def cockpit(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)


def sign_in(client: httpx.Client, project: Project) -> httpx.Response:
    return client.post(
        "/cockpit/login", data={"app_id": project.app_id, "app_token": project.app_token}
    )


@pytest.fixture
def browser(server: Server, project: Project) -> Iterator[httpx.Client]:
    with cockpit(server) as client:
        assert sign_in(client, project).status_code == 303
        yield client


def csrf_of(client: httpx.Client, path: str = "/cockpit/customers") -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def url_of(customer_id: str) -> str:
    return "/cockpit/customers/" + quote(customer_id, safe="")


def table(page: str, table_id: str) -> str:
    found = re.search(rf'<table class="list" id="{table_id}">.*?</table>', page, re.S)
    return found.group(0) if found else ""


def redeem(api: httpx.Client, code: str, customer_id: str, **order: object) -> httpx.Response:
    return api.post(
        "/v1/redemptions",
        json={
            "redeemables": [{"object": "voucher", "id": code}],
            "customer": {"id": customer_id},
            "order": order,
        },
    )


def write_rows(server: Server, statements: list[tuple[str, tuple[object, ...]]]) -> None:
    """Rows written straight to the database, in one transaction."""

    async def run() -> None:
        db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            async with db.transaction() as conn:
                for sql, args in statements:
                    await conn.execute(sql, *args)
        finally:
            await db.close()

    asyncio.run(run())


class TestSignIn:
    def test_the_form_is_served(self, server: Server) -> None:
        with cockpit(server) as client:
            page = client.get("/cockpit")
        assert page.status_code == 200
        assert 'action="/cockpit/login"' in page.text
        assert 'name="app_id"' in page.text
        assert 'name="app_token"' in page.text
        assert "set-cookie" not in page.headers

    def test_wrong_token_is_refused_without_a_cookie(
        self, server: Server, project: Project
    ) -> None:
        with cockpit(server) as client:
            answer = client.post(
                "/cockpit/login", data={"app_id": project.app_id, "app_token": "nope"}
            )
            assert answer.status_code == 401
            assert "set-cookie" not in answer.headers
            assert client.get("/cockpit/customers").status_code == 303

    def test_unknown_app_id_is_refused(self, server: Server) -> None:
        with cockpit(server) as client:
            answer = client.post("/cockpit/login", data={"app_id": "nobody", "app_token": "x"})
        assert answer.status_code == 401
        assert "set-cookie" not in answer.headers

    def test_success_sets_a_strict_httponly_cookie(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            answer = sign_in(client, project)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/cockpit/customers"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("patrons_cockpit=")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Path=/cockpit" in cookie
        assert "Secure" not in cookie  # plain HTTP, no proxy saying otherwise

    def test_secure_behind_an_https_proxy(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            answer = client.post(
                "/cockpit/login",
                data={"app_id": project.app_id, "app_token": project.app_token},
                headers={"X-Forwarded-Proto": "https"},
            )
        assert "Secure" in answer.headers["set-cookie"]

    def test_a_foreign_origin_is_refused(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            answer = client.post(
                "/cockpit/login",
                data={"app_id": project.app_id, "app_token": project.app_token},
                headers={"Origin": "https://evil.example"},
            )
            assert answer.status_code == 403
            assert "set-cookie" not in answer.headers
            referred = client.post(
                "/cockpit/login",
                data={"app_id": project.app_id, "app_token": project.app_token},
                headers={"Referer": "https://evil.example/page"},
            )
            assert referred.status_code == 403

    def test_own_origin_is_accepted(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            answer = client.post(
                "/cockpit/login",
                data={"app_id": project.app_id, "app_token": project.app_token},
                headers={"Origin": server.base_url},
            )
        assert answer.status_code == 303

    def test_pages_need_a_session(self, server: Server) -> None:
        with cockpit(server) as client:
            for path in ("/cockpit/customers", "/cockpit/async-actions", "/cockpit/segments"):
                answer = client.get(path)
                assert answer.status_code == 303, path
                assert answer.headers["location"] == "/cockpit"

    def test_a_forged_cookie_is_no_session(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            sign_in(client, project)
            value = client.cookies["patrons_cockpit"]
            client.cookies.clear()
            client.cookies.set("patrons_cockpit", value[:-4] + "0000", path="/cockpit")
            assert client.get("/cockpit/customers").status_code == 303

    def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(
        self, browser: httpx.Client
    ) -> None:
        assert browser.post("/cockpit/logout", data={}).status_code == 403
        token = csrf_of(browser)
        answer = browser.post("/cockpit/logout", data={"csrf": token})
        assert answer.status_code == 303
        assert "Max-Age=0" in answer.headers["set-cookie"]
        assert browser.get("/cockpit/customers").status_code == 303

    def test_rotating_the_key_ends_the_session(self, server: Server, project: Project) -> None:
        async def rotate() -> None:
            db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
            try:
                async with db.transaction() as conn:
                    await projects.rotate(conn, app_id=project.app_id)
            finally:
                await db.close()

        with cockpit(server) as client:
            sign_in(client, project)
            assert client.get("/cockpit/customers").status_code == 200
            asyncio.run(rotate())
            assert client.get("/cockpit/customers").status_code == 303

    def test_api_keys_are_not_a_cockpit_session(self, server: Server, project: Project) -> None:
        with cockpit(server) as client:
            answer = client.get("/cockpit/customers", headers=project.headers)
        assert answer.status_code == 303


class TestCustomers:
    def test_list_shows_name_email_source_id_and_total(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        api.post("/v1/customers", json={"source_id": "ann-1", "name": "Ann", "email": "a@x.io"})
        page = browser.get("/cockpit/customers")
        assert page.status_code == 200
        assert "Ann" in page.text
        assert "a@x.io" in page.text
        assert "ann-1" in page.text
        assert '<span class="count" id="total">1</span>' in page.text

    @pytest.mark.parametrize("q", ["bob@x.io", "Bob Stone", "bob-2"])
    def test_search_by_email_name_or_source_id(
        self, browser: httpx.Client, api: httpx.Client, q: str
    ) -> None:
        api.post("/v1/customers", json={"source_id": "ann-1", "name": "Ann", "email": "a@x.io"})
        api.post(
            "/v1/customers", json={"source_id": "bob-2", "name": "Bob Stone", "email": "bob@x.io"}
        )
        page = browser.get("/cockpit/customers", params={"q": q})
        assert "bob-2" in page.text
        assert "ann-1" not in page.text

    def test_filters_of_the_api(self, browser: httpx.Client, api: httpx.Client) -> None:
        api.post("/v1/customers", json={"source_id": "c1", "address": {"city": "Oslo"}})
        api.post("/v1/customers", json={"source_id": "c2", "address": {"city": "Rome"}})
        page = browser.get("/cockpit/customers", params={"city": "Rome"})
        assert "c2" in page.text
        assert ">c1<" not in page.text

    def test_a_bad_filter_is_shown_not_a_crash(self, browser: httpx.Client) -> None:
        page = browser.get("/cockpit/customers", params={"created_at[after]": "yesterday"})
        assert page.status_code == 400
        assert "ISO-8601" in page.text

    def test_cursor_paging_visits_everyone_once(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        for n in range(7):
            api.post("/v1/customers", json={"source_id": f"p-{n}"})
        seen: list[str] = []
        path: str | None = "/cockpit/customers?limit=3"
        while path:
            page = browser.get(path)
            assert page.status_code == 200
            seen += re.findall(r"<code>(p-\d)</code>", page.text)
            found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
            path = found.group(1).replace("&amp;", "&") if found else None
        assert sorted(seen) == [f"p-{n}" for n in range(7)]

    def test_customer_page_shows_fields_metadata_activity(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        created = api.post(
            "/v1/customers",
            json={"source_id": "a/b@x", "name": "Ann", "metadata": {"tier": "gold"}},
        ).json()
        page = browser.get(url_of(created["id"]))
        assert page.status_code == 200
        assert "a/b@x" in page.text
        assert "tier" in page.text
        assert "gold" in page.text
        assert "customer.created" in page.text
        by_source = browser.get(url_of("a/b@x"))
        assert by_source.status_code == 200

    def test_another_projects_customer_is_404(
        self, browser: httpx.Client, other_api: httpx.Client
    ) -> None:
        theirs = other_api.post("/v1/customers", json={"source_id": "theirs"}).json()
        assert browser.get(url_of(theirs["id"])).status_code == 404
        assert browser.get(url_of("theirs")).status_code == 404
        search = browser.get("/cockpit/customers?q=theirs").text
        assert "<code>theirs</code>" not in search
        assert "No customers" in search

    def test_customer_page_shows_orders_and_redemptions(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        customer = api.post("/v1/customers", json={"source_id": "buyer"}).json()
        order = api.post(
            "/v1/orders",
            json={
                "source_id": "web-1001",
                "amount": 4200,
                "status": "PAID",
                "customer_id": customer["id"],
            },
        )
        assert order.status_code == 200, order.text
        time.sleep(0.01)  # the redemption's order is the newer one
        code = "CK-" + secrets.token_hex(4).upper()
        create_voucher(
            api,
            code=code,
            discount={"type": "AMOUNT", "amount_off": 300},
            redemption={"quantity": 1},
        )
        ok = redeem(api, code, customer["id"], source_id="web-1002", amount=1500)
        assert ok.status_code == 200, ok.text
        redemption_id = ok.json()["redemptions"][0]["id"]
        assert redeem(api, code, customer["id"], amount=900).status_code == 400  # used up
        rollback = api.post(f"/v1/redemptions/{redemption_id}/rollback")
        assert rollback.status_code == 200, rollback.text

        page = browser.get(url_of(customer["id"]))

        assert page.status_code == 200
        orders = table(page.text, "orders")
        rows = re.findall(r"<tr><td><code>(ord_[^<]+)</code></td><td><code>([^<]+)</code>", orders)
        assert [source for _, source in rows] == ["web-1002", "web-1001"]  # newest first
        assert rows[1][0] == order.json()["id"]
        assert "PAID" in orders
        assert "4200" in orders
        assert "1500" in orders
        redemptions = table(page.text, "redemptions")
        assert redemptions.count(f"<code>{code}</code>") == 2
        assert redemption_id in redemptions
        assert "SUCCESS" in redemptions
        assert "FAILURE" in redemptions
        assert "quantity_exceeded" in redemptions
        assert redemptions.count("rolled back") == 1
        assert "redemption_rollback" not in redemptions  # the rollback is a column, not a row

    def test_a_customer_without_orders(self, browser: httpx.Client, api: httpx.Client) -> None:
        customer = api.post("/v1/customers", json={"source_id": "idle"}).json()
        page = browser.get(url_of(customer["id"])).text
        assert "No orders." in page
        assert "No redemptions." in page

    def test_the_newest_orders_only_with_a_note(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        customer = api.post("/v1/customers", json={"source_id": "regular"}).json()
        for n in range(32):
            api.post("/v1/orders", json={"source_id": f"o-{n}", "customer_id": customer["id"]})
        page = browser.get(url_of(customer["id"])).text
        assert table(page, "orders").count("<tr><td>") == 30
        assert "The newest 30 of 32 orders." in page

    def test_another_projects_orders_and_redemptions_do_not_show(
        self,
        server: Server,
        other_project: Project,
        browser: httpx.Client,
        api: httpx.Client,
        other_api: httpx.Client,
    ) -> None:
        ours = api.post("/v1/customers", json={"source_id": "twin"}).json()
        theirs = other_api.post("/v1/customers", json={"source_id": "twin"}).json()
        other_api.post(
            "/v1/orders",
            json={"source_id": "theirs-order", "amount": 777, "customer_id": theirs["id"]},
        )
        code = "THEIRS-" + secrets.token_hex(4).upper()
        create_voucher(other_api, code=code, discount={"type": "AMOUNT", "amount_off": 1})
        assert redeem(other_api, code, theirs["id"], amount=100).status_code == 200
        now = int(time.time() * 1000)
        write_rows(  # rows of the other project naming our customer's id
            server,
            [
                (
                    "INSERT INTO orders (project_id, id, source_id, status, metadata,"
                    " customer_id, created_at) VALUES ($1, $2, $3, 'PAID', '{}', $4, $5)",
                    (
                        other_project.id,
                        "ord_" + secrets.token_hex(8),
                        "stray-order",
                        ours["id"],
                        now,
                    ),
                ),
                (
                    "INSERT INTO redemption (project_id, id, object, related_object_type,"
                    " related_object_id, voucher_code, customer_id, result, status, metadata,"
                    " created_at) VALUES ($1, $2, 'redemption', 'voucher', 'v_stray', 'STRAY',"
                    " $3, 'SUCCESS', 'SUCCEEDED', '{}', $4)",
                    (other_project.id, "r_" + secrets.token_hex(8), ours["id"], now),
                ),
            ],
        )

        page = browser.get(url_of(ours["id"])).text

        for foreign in ("theirs-order", ">777<", code, "stray-order", "STRAY", "v_stray"):
            assert foreign not in page, foreign
        assert "No orders." in page
        assert "No redemptions." in page

    def test_unknown_customer_is_a_404_page(self, browser: httpx.Client) -> None:
        page = browser.get(url_of("cust_nope"))
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")

    def test_edit(self, browser: httpx.Client, api: httpx.Client) -> None:
        created = api.post(
            "/v1/customers", json={"source_id": "e1", "name": "Old", "phone": "123"}
        ).json()
        url = url_of(created["id"])
        form = browser.get(url + "/edit")
        token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
        answer = browser.post(
            url + "/edit",
            data={"csrf": token, "name": "New", "email": "n@x.io", "metadata": '{"k": 1}'},
        )
        assert answer.status_code == 303
        stored = api.get(f"/v1/customers/{created['id']}").json()
        assert stored["name"] == "New"
        assert stored["email"] == "n@x.io"
        assert stored["metadata"] == {"k": 1}
        assert "phone" not in stored or stored["phone"] is None  # emptied field cleared
        events = api.get(f"/v1/customers/{created['id']}/activity").json()["data"]
        assert events[0]["type"] == "customer.updated"
        assert events[0]["data"]["event_source"]["channel"] == "USER_PORTAL"
        assert "USER_PORTAL" in browser.get(url).text

    def test_edit_needs_csrf(self, browser: httpx.Client, api: httpx.Client) -> None:
        created = api.post("/v1/customers", json={"source_id": "e2", "name": "Old"}).json()
        answer = browser.post(url_of(created["id"]) + "/edit", data={"name": "New"})
        assert answer.status_code == 403
        wrong = browser.post(url_of(created["id"]) + "/edit", data={"name": "N", "csrf": "x"})
        assert wrong.status_code == 403
        assert api.get(f"/v1/customers/{created['id']}").json()["name"] == "Old"

    def test_edit_with_bad_input_shows_the_error(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        created = api.post("/v1/customers", json={"source_id": "e3"}).json()
        token = csrf_of(browser)
        answer = browser.post(
            url_of(created["id"]) + "/edit", data={"csrf": token, "metadata": "[1,"}
        )
        assert answer.status_code == 400
        assert "Metadata must be a JSON object" in answer.text

    def test_delete_with_confirmation(self, browser: httpx.Client, api: httpx.Client) -> None:
        created = api.post("/v1/customers", json={"source_id": "d1"}).json()
        url = url_of(created["id"])
        confirm = browser.get(url + "/delete")
        assert confirm.status_code == 200
        assert "Delete this customer?" in confirm.text
        token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]
        unconfirmed = browser.post(url + "/delete", data={"csrf": token})
        assert unconfirmed.status_code == 303
        assert api.get(f"/v1/customers/{created['id']}").status_code == 200
        answer = browser.post(url + "/delete", data={"csrf": token, "confirm": "delete"})
        assert answer.status_code == 303
        assert api.get(f"/v1/customers/{created['id']}").status_code == 404

    def test_permanent_delete_needs_the_word(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        created = api.post("/v1/customers", json={"source_id": "d2"}).json()
        url = url_of(created["id"])
        token = csrf_of(browser)
        data = {"csrf": token, "permanent": "1", "confirm": "no"}
        assert browser.post(url + "/delete", data=data).status_code == 400
        assert api.get(f"/v1/customers/{created['id']}").status_code == 200
        answer = browser.post(url + "/delete", data={**data, "confirm": "ERASE"})
        assert answer.status_code == 303
        assert api.get(f"/v1/customers/{created['id']}").status_code == 404
        # Erased, not just deleted: the API's permanent deletion finds nothing left.
        again = api.post(f"/v1/customers/{created['id']}/permanent-deletion")
        assert again.status_code == 404


def wait_done(client: httpx.Client, path: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = client.get(path).text
        if "data-poll" not in text:
            return text
        time.sleep(0.2)
    raise AssertionError("the job did not finish")


class TestJobs:
    def test_upload_a_csv_and_watch_it_finish(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        token = csrf_of(browser, "/cockpit/async-actions")
        csv = b"source_id,name,birthdate\nj1,Jo,1990-01-02\nj2,Jay,not-a-date\n"
        answer = browser.post(
            f"/cockpit/async-actions/import?csrf={token}",
            files={"file": ("people.csv", csv, "text/csv")},
        )
        assert answer.status_code == 303
        job_url = answer.headers["location"]
        page = wait_done(browser, job_url + "/status")
        assert "DONE" in page
        assert 'id="failed"' in page
        assert "j2" in page
        assert "Download the failed-rows report" in page
        assert api.get("/v1/customers/j1").json()["name"] == "Jo"
        listing = browser.get("/cockpit/async-actions").text
        assert "CUSTOMERS.IMPORT_CSV" in listing
        table = browser.get("/cockpit/async-actions/table")  # what the list page polls
        assert table.status_code == 200
        assert table.text.startswith('<div id="jobs"')
        assert "CUSTOMERS.IMPORT_CSV" in table.text

    def test_upload_needs_csrf(self, browser: httpx.Client) -> None:
        answer = browser.post(
            "/cockpit/async-actions/import",
            files={"file": ("p.csv", b"source_id\nx\n", "text/csv")},
        )
        assert answer.status_code == 403

    def test_a_file_that_is_no_csv_is_refused_on_the_page(self, browser: httpx.Client) -> None:
        token = csrf_of(browser, "/cockpit/async-actions")
        answer = browser.post(
            f"/cockpit/async-actions/import?csrf={token}",
            files={"file": ("p.csv", b"\x00\x01", "text/csv")},
        )
        assert answer.status_code == 400
        assert 'class="error"' in answer.text

    def test_another_projects_job_is_404(
        self, browser: httpx.Client, other_api: httpx.Client
    ) -> None:
        theirs = other_api.post(
            "/v1/customers/importCSV", files={"file": ("p.csv", b"source_id\nx\n", "text/csv")}
        ).json()["async_action_id"]
        assert browser.get(f"/cockpit/async-actions/{theirs}").status_code == 404


class TestSegments:
    def test_create_from_a_rule_and_see_members(
        self, browser: httpx.Client, api: httpx.Client
    ) -> None:
        api.post("/v1/customers", json={"source_id": "s1", "email": "in@x.io"})
        api.post("/v1/customers", json={"source_id": "s2", "email": "out@x.io"})
        token = csrf_of(browser, "/cockpit/segments")
        rule = '{"junction": "and", "email": {"conditions": {"$is": ["in@x.io"]}}}'
        answer = browser.post(
            "/cockpit/segments",
            data={"csrf": token, "name": "Insiders", "type": "auto-update", "filter": rule},
        )
        assert answer.status_code == 303, answer.text
        page = browser.get(answer.headers["location"])
        assert "Insiders" in page.text
        assert "s1" in page.text
        assert ">s2<" not in page.text
        assert "Insiders" in browser.get("/cockpit/segments").text

    def test_a_bad_rule_is_shown(self, browser: httpx.Client) -> None:
        token = csrf_of(browser, "/cockpit/segments")
        answer = browser.post(
            "/cockpit/segments",
            data={"csrf": token, "name": "X", "type": "auto-update", "filter": "{nope"},
        )
        assert answer.status_code == 400
        assert 'class="error"' in answer.text


class TestSetting:
    def test_off_means_no_cockpit(self, server: Server, tmp_path: Path) -> None:
        if server.backend.name != "sqlite":
            pytest.skip("a setting of the process: one database shows it")
        running, stop = start_server(server.backend, tmp_path, PATRONS_COCKPIT="0")
        try:
            with cockpit(running) as client:
                assert client.get("/cockpit").status_code == 404
                assert client.post("/cockpit/login", data={}).status_code in (404, 405)
                assert client.get("/health").status_code == 200
        finally:
            stop()


class TestStatic:
    def test_assets_are_served_from_the_package(self, server: Server) -> None:
        with cockpit(server) as client:
            css = client.get("/cockpit/static/cockpit.css")
            js = client.get("/cockpit/static/cockpit.js")
            page = client.get("/cockpit")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert js.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from another host
