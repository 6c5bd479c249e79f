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


def test_health_is_503_when_redis_does_not_answer(api, db, settings):
    dead = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    settings.CACHES = {"default": dead}

    response = api().get("/api/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == "SERVICE_UNAVAILABLE"
    assert body["data"] == {"database": "ok", "redis": "unavailable"}
