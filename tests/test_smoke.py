from tests.conftest import login


def test_county_officer_signs_in_and_sees_own_dashboard(app, world, client):
    response = login(client, "county-a.officer")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "甲县 · 工作台" in page
    assert "单位管理" not in page
