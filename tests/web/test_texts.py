"""Every text a page asks for exists in Swedish and in English (no key shows through)."""

from __future__ import annotations

import re
from pathlib import Path

from services.web.i18n import EN, SV, t

ROOT = Path(__file__).resolve().parents[2] / "services" / "web"


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*ROOT.glob("templates/*.html"), *ROOT.glob("*.py")]:
        text = path.read_text()
        keys |= {k for k in re.findall(r"""\b(?:t|tr)\(\s*["']([a-z0-9_]+)["']""", text) if not k.endswith("_")}
        # keys built from a prefix and a value, e.g. t("rec_" ~ s.recommendation)
        keys |= {f"{prefix}{suffix}" for prefix, suffix in
                 [("rec_", r) for r in ("hire", "maybe", "no_hire")] + [("reason_", r) for r in (
                     "none", "not_available", "conflict_of_interest", "health", "not_this_time", "other")]
                 + [("purpose_", p) for p in ("recruitment", "matching", "research", "contact")]
                 + [("format_", f) for f in ("joint", "split")]
                 + [("activity_", a) for a in ("interview", "assessment", "job_description")]
                 + [("member_", m) for m in ("participant", "staff")]
                 + [("withdraw_consequence_", p) for p in ("recruitment", "matching", "research", "contact")]
                 + [("undertaking_text_", str(n)) for n in range(1, 5)] + [("terms_text_", str(n)) for n in range(1, 6)]
                 + [(f"error_{e}_", part) for e in ("403", "404", "503", "other", "csrf")
                    for part in ("title", "body")]}
    return keys


def test_every_key_a_page_uses_exists_in_both_languages() -> None:
    keys = used_keys()
    assert len(keys) > 150
    assert not sorted(k for k in keys if k not in SV), "missing in Swedish"
    assert not sorted(k for k in keys if k not in EN and k != "service_name"), "missing in English"
    assert set(EN) - set(SV) == set()


def test_texts_format_and_fall_back() -> None:
    assert t("signed_in_as", "sv", name="Anna") == "Inloggad som Anna"
    assert t("signed_in_as", "en", name="Anna") == "Signed in as Anna"
    assert t("service_name", "en") == "Delaktig"  # the same in both
    assert t("kr", "en", amount="1 000") == "SEK 1 000"



def test_no_two_text_modules_give_one_key_two_meanings() -> None:
    """A key two parts of the app define differently would show one page the other's sentence:
    the merge refuses it (and the app's own tables merged without a clash)."""
    import pytest

    from services.web.i18n import merge_part

    table = {"saved": "Sparat."}
    merge_part("same", table, {"saved": "Sparat.", "new": "Ny."})
    assert table == {"saved": "Sparat.", "new": "Ny."}
    with pytest.raises(ValueError, match="saved"):
        merge_part("other", table, {"saved": "Din bedömning är sparad."})
