from tests.factories import create_customer


def test_create_and_get(api):
    created = create_customer(api, email="ada@example.org")
    got = api.get(f"/v1/customers/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created
