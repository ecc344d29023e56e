"""The OpenAPI document fuzzed with schemathesis against `idkarr run` itself: every operation it declares, with
values that fit its schema and values that do not, as an admin (who may do everything) would send them. No
call may end in a server error (5xx) or break the connection."""

from __future__ import annotations

import socket
from collections import Counter
from contextlib import suppress
from typing import Any

import httpx
import requests as http
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.openapi import from_dict

from core.db.session import Database
from core.enums import ContentType, UserRole
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import requests
from core.services.identity import issue_api_key
from core.services.users import add_user

from .conftest import Idkarr
from .processes import idkarr_running

# Routes that never end (the live stream) are tested on their own, in test_api.
_ENDLESS = {"/api/v3/activity/stream"}
_EXAMPLES = 25


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_no_call_the_openapi_document_allows_or_forbids_ends_in_a_server_error(
    db: Database, idkarr: Idkarr
) -> None:
    port = _free_port()
    env = {
        **idkarr.env,
        "IDKARR_API__PORT": str(port),
        "IDKARR_API__RATE_PER_MINUTE": "0",
        "IDKARR_API__WEBHOOK_SECRET": "fuzzing-secret-0123456789",
    }
    await add_user(db, "root", UserRole.ADMIN)
    alice = await add_user(db, "alice", UserRole.USER)
    for tmdb in (603, 550):  # some requests for the ids the fuzzer tries to find
        details = await OfflineCatalog().details(ContentType.MOVIE, ExternalIds(tmdb_id=tmdb))
        await requests.create(db, details, actor_id=alice.id)
    key = await issue_api_key(db, "root")
    base = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    seen: Counter[int] = Counter()
    async with idkarr_running(idkarr.workdir, env, front_ends="none", secrets=(key,)):
        async with httpx.AsyncClient(base_url=base) as client:
            document = (await client.get("/api/v3/openapi.json")).json()
        schema = from_dict(document)
        session = http.Session()
        found = list(schema.get_all_operations())
        operations = [result.ok() for result in found if isinstance(result, Ok)]
        assert len(operations) == len(found), "the document has operations schemathesis cannot read"
        assert len(operations) >= 15, [operation.label for operation in operations]
        for operation in operations:
            if operation.path in _ENDLESS:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=_EXAMPLES,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def call(case: Any) -> None:
                    try:
                        answer = case.call(base_url=base, session=session, headers={"X-Api-Key": key}, timeout=10)
                    except http.RequestException as error:
                        failures.append(f"{case.method} {case.formatted_path}: {type(error).__name__}")
                        return
                    seen[answer.status_code // 100] += 1
                    if answer.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: "
                            f"{answer.status_code} {answer.text[:200]}"
                        )

                with suppress(Unsatisfiable):  # nothing the schema forbids can be sent (no parameters)
                    call()
    assert not failures, "\n".join(failures[:20])
    # The fuzzing reached the routes' work, not only their validation: many calls were answered 2xx.
    assert seen[2] >= 100, seen
    assert seen[4] >= 100, seen
