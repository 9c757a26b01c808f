"""Dead letters are visible: ``/readyz`` says degraded with the count, ``/metrics`` has a gauge,
and ``delaktig deadletters list|retry`` shows and retries them (here: a matching read model that
cannot take a malformed ``PanelAssigned``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from infra.cli import main
from services.matching.service import Matching
from shared.config import Settings
from tests.eventwriter import EventWriter


def test_dead_letters_show_on_readyz_metrics_and_the_cli(settings: Settings, serve: Callable[[Any], str],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in {"DATA_DIR": str(settings.data_dir), "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
                       "TOPIC_PREFIX": settings.topic_prefix, "DATABASE_URL": settings.database_url or "",
                       "DB_NAMESPACE": settings.db_namespace}.items():
        monkeypatch.setenv(key, value)
    service = Matching.build(settings)
    url = serve(service.http())
    assert requests.get(f"{url}/readyz", timeout=5).json()["status"] == "ready"

    writer = EventWriter(settings)
    bad = writer.emit("matching", "PanelAssigned", "panel-1", {"members": []})  # no recruitment_id
    writer.emit("matching", "PanelAssigned", "panel-2", {"recruitment_id": "r-2", "members": []})
    writer.flush()
    writer.close()
    loop = service.consumer()
    loop.catch_up()
    loop.close()

    ready = requests.get(f"{url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "degraded", "service": "matching",
                                                         "dead_letters": 1}
    assert "delaktig_dead_letters 1.0" in requests.get(f"{url}/metrics", timeout=5).text

    capsys.readouterr()
    assert main(["deadletters", "list", "--service", "matching"]) == 0
    out = capsys.readouterr().out
    assert bad["event_id"] in out and "KeyError" in out and "1 dead letter(s)" in out
    assert main(["deadletters", "retry", "--service", "matching"]) == 1  # the payload is still malformed
    assert "0 applied, 1 still failing" in capsys.readouterr().out
    assert main(["deadletters", "list", "--service", "participants"]) == 0
    assert "0 dead letter(s)" in capsys.readouterr().out
    service.close()
