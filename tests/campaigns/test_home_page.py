import pytest


@pytest.mark.django_db
def test_home_page_links_the_feed(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'type="application/atom+xml"' in response.content
