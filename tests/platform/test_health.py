def test_health_reports_database_and_redis(api, db):
    response = api().get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Healthy.",
        "data": {"database": "ok", "redis": "ok"},
        "error_code": None,
        "details": None,
    }
