"""A short schemathesis run over the OpenAPI document: for every operation, generated
requests (as an officer with a purpose, and as nobody) never answer 5xx and answer only
status codes the document declares."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples

schemathesis = pytest.importorskip("schemathesis")


@pytest.mark.parametrize("city", ["resolved", "empty"])
def test_every_operation_answers_documented_codes_and_no_5xx(city, request, make_api, settings):
    from fastapi.testclient import TestClient

    from zhijing.access.seed import DEMO_CASE

    api = make_api(request.getfixturevalue("resolved_city")[0].home if city == "resolved" else settings.home)
    app = api.client.app
    client = TestClient(app, raise_server_exceptions=False)  # an unhandled error is a 500 to report, not a crash
    schema = schemathesis.openapi.from_dict(app.openapi())
    officer = api.headers("xingzhen01", DEMO_CASE)
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 20

    def probe(op, who: dict):
        documented = {str(k) for k in op.definition.raw.get("responses", {})}

        @examples(max_examples=6, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            body = case.body if isinstance(case.body, dict | list | str | int | float) else None
            response = client.request(case.method, case.formatted_path, params=case.query,
                                          headers={**(case.headers or {}), **who}, json=body)  # fmt: skip
            broken = response.status_code >= 500 and response.status_code != 503  # 503: documented "not ready yet"
            if broken or str(response.status_code) not in documented:
                failures.append(f"{op.label} -> {response.status_code}: {response.text[:120]}")

        run()

    for op in operations:
        for who in (officer, {}):
            probe(op, who)
    assert not failures, "\n".join(sorted(set(failures))[:60])
