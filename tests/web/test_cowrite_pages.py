"""What the co-writing pages offer, in process: a text takes contributions exactly while the
recruitments service accepts them, and every word those pages build from a kind exists in
Swedish and in English."""

from __future__ import annotations

import pytest

from services.web.cowrite import KINDS, closed_because
from services.web.i18n import EN, SV


@pytest.mark.parametrize(("stage", "advert_version", "open_kinds"), [
    ("drafting", 0, {"job_description", "advert", "participation"}),
    ("interviewing", 0, {"job_description", "advert", "participation"}),  # a panel before the advert
    ("advertised", 1, {"advert", "participation"}),  # the job description is settled by the advert
    ("interviewing", 2, {"advert", "participation"}),
    ("decided", 1, set()),
    ("closed", 1, set()),
])
def test_a_text_is_open_while_the_service_takes_contributions(stage: str, advert_version: int,
                                                                open_kinds: set[str]) -> None:
    rec = {"stage": stage, "advert_version": advert_version}
    assert {kind for kind in KINDS.values() if closed_because(rec, kind) is None} == open_kinds
    for kind in set(KINDS.values()) - open_kinds:
        assert f"cowrite_closed_{closed_because(rec, kind)}" in SV  # and the page can say why


def test_every_word_built_from_a_kind_exists_in_both_languages() -> None:
    keys = [f"cowrite_{part}_{kind}" for kind in KINDS.values()
            for part in ("kind", "add", "question", "hint", "text_required", "next")]
    keys += [f"cowrite_closed_{why}" for why in ("decided", "advert_published")]
    keys += [f"cowrite_when_sent_{n}" for n in range(1, 5)] + [f"recuse_means_{n}" for n in range(1, 5)]
    keys += [f"cowrite_by_{role}" for role in ("hiring_manager", "coordinator")]
    assert [k for k in keys if k not in SV] == []
    assert [k for k in keys if k not in EN] == []
    assert SV["cowrite_when_sent_2"] != EN["cowrite_when_sent_2"]  # translated, not copied
