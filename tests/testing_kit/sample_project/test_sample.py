"""A team's own tests against Patrons, using only the plugin's fixtures and the official SDK.

test_plugin.py copies this file into an empty directory and runs pytest on it in a subprocess.
"""

import json
import urllib.error
import urllib.request

import voucherify


def customers_api(project):
    config = voucherify.Configuration(
        host=project.base_url,
        api_key={"X-App-Id": project.app_id, "X-App-Token": project.app_token},
    )
    return voucherify.CustomersApi(voucherify.ApiClient(config))


def get(project, path):
    request = urllib.request.Request(project.base_url + path, headers=project.headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_official_sdk_creates_and_reads_a_customer(patrons_project):
    customers = customers_api(patrons_project)
    created = customers.create_customer(
        voucherify.CustomersCreateRequestBody(source_id="alice", name="Alice", email="a@x.io")
    )
    assert created.id.startswith("cust_")
    assert customers.get_customer("alice").name == "Alice"
    listed = customers.list_customers()
    assert listed.total == 1
    assert [c.source_id for c in listed.customers] == ["alice"]


def test_the_next_test_does_not_see_the_first_tests_customers(patrons_project):
    status, body = get(patrons_project, "/v1/customers")
    assert status == 200
    assert body["total"] == 0
    status, body = get(patrons_project, "/v1/customers/alice")
    assert status == 404


def test_two_projects_in_one_test_are_apart(patrons_server, patrons_project):
    other = patrons_server.new_project()
    customers_api(other).create_customer(voucherify.CustomersCreateRequestBody(source_id="bob"))
    assert get(patrons_project, "/v1/customers/bob")[0] == 404
    assert get(other, "/v1/customers/bob")[0] == 200


def test_the_server_fixture_has_the_default_projects_keys(patrons_server):
    assert patrons_server.base_url.startswith("http://127.0.0.1:")
    assert set(patrons_server.headers) == {"X-App-Id", "X-App-Token"}
    status, _ = get(patrons_server, "/v1/customers")
    assert status == 200
