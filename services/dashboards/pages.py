"""The dashboards' web pages (server-rendered, Swedish by default, English with ``?lang=en``).

Browsers cannot send an Authorization header when navigating, so a staff token is accepted
either as ``Authorization: Bearer`` or from an HttpOnly session cookie set after signing in with
OpenID Connect at ``/login``. Pasting a token into the sign-in form (or ``GET /login?token=`` for
scripted logins) is a development aid only, on when ``DELAKTIG_DEV_TOKEN_LOGIN=1``. Sign-in and
sign-out are protected against cross-site requests (a per-browser token in a SameSite=Strict
cookie that the form must echo, and the Origin checked when sent). Every request verifies the
token again with the app's ``TokenVerifier``; pages show only the departments in the token (all
for an administrator). Every answer carries a strict CSP (no script at all),
``frame-ancestors 'none'``, ``nosniff``, ``Referrer-Policy`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup
from marshmallow import ValidationError

from services.dashboards import charts, figures
from services.dashboards.projections import STAGES
from shared import oidc
from shared.auth import STAFF_ROLES, Principal, TokenVerifier
from shared.errors import DomainError
from shared.pagination import PageQuery, decode_cursor, page_of

COOKIE = "delaktig_session"
CSRF_COOKIE = "delaktig_csrf"
DEV_LOGIN_ENV = "DELAKTIG_DEV_TOKEN_LOGIN"
DEFAULT_NEXT = "/overview"
# No script at all; inline styles only (the page's own stylesheet and the SVG charts).
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
pages = Blueprint("dashboards_pages", __name__, template_folder="templates")
JSON_API_ROLES = ["coordinator", "hiring_manager", "administrator"]


LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Delaktig - instrumentpanel",
        "overview": "Alla förvaltningar",
        "login": "Logga in",
        "logout": "Logga ut",
        "token": "Personaltoken",
        "login_help": "Klistra in din personaltoken (JWT).",
        "login_failed": "Token kunde inte verifieras.",
        "idp_help": "Logga in via kommunens inloggning. Inloggning med token är bara påslagen under utveckling.",
        "refused_dev_login_off": "Inloggning med token är avstängd här.",
        "refused_csrf": "Inloggningen kom inte från det här formuläret. Ladda om sidan och försök igen.",
        "departments": "Förvaltningar",
        "by_stage": "Rekryteringar per steg",
        "days_in_stage": "Genomsnittlig tid i steget (dagar)",
        "recruitments": "Rekryteringar",
        "days": "Dagar",
        "upcoming": "Kommande intervjuer utan full panel",
        "none": "Inga",
        "unit": "Enhet",
        "position": "Tjänst",
        "interviews_from": "Intervjuer från",
        "panel": "Panel",
        "rotation": "Deltagare: engagerade och väntande",
        "in_bank": "I brukarbanken",
        "engaged": "Engagerade nu",
        "waiting": "Väntande",
        "never_engaged": "Aldrig engagerade",
        "honoraria": "Arvoden per månad mot budget",
        "accrued": "Upparbetat",
        "paid": "Utbetalt",
        "budget": "Budget",
        "kr": "kr",
        "no_budget": "Ingen budget satt",
        "month": "Månad",
        "effect1": "Mål 1: nyanställda",
        "motivation": "Motivation (1-5)",
        "retention": "kvar i tjänst",
        "retained6": "Kvar efter 6 mån (%)",
        "retained12": "Kvar efter 12 mån (%)",
        "effect2": "Mål 2: chefers bedömning av vad delaktigheten tillförde",
        "rating": "Betyg (1-5)",
        "effect3": "Mål 3: deltagarnas bedömning av sitt inflytande",
        "imported": "Importerad historik",
        "live": "I Delaktig",
        "imported_note": "{n} av rekryteringarna är historik från tiden före Delaktig ({first} till {last}), "
                         "inlagd i efterhand från papper och kalkylblad. Trenderna visar den med sina "
                         "ursprungliga datum, som en egen linje.",
        "hires": "Anställningar",
        "open": "Pågående",
        "manager_rating": "Chefers betyg",
        "participant_rating": "Deltagarnas betyg",
        "compare": "Jämförelse mellan förvaltningar",
        "lag": "Eftersläpning mot Kafka",
        "lag_unknown": "okänd",
        "events_behind": "händelser efter",
        "figures_asof": "Siffrorna räknades senast fram {when} och gäller {day}. Det som ännu inte har lästs "
                        "in (eftersläpningen ovan) finns inte med.",
        "figures_day": "{d} {month} {y}",
        "figures_when": "den {d} {month} {y} kl. {hm} (UTC)",
        "months": "januari februari mars april maj juni juli augusti september oktober november december",
        "department": "Förvaltning",
        "forbidden": "Du har inte behörighet till den här sidan.",
        "total": "Totalt",
        "preparation": "Förberedelse",
        "advertised": "Annonserad",
        "applications": "Ansökningar",
        "assessment": "Urval",
        "interviews": "Intervjuer",
        "decided": "Beslutad",
        "closed": "Avslutad",
        "language": "In English",
        "workspace": "Din arbetsyta",
        "signed_in_as": "Inloggad som",
        "role_coordinator": "samordnare",
        "role_hiring_manager": "rekryterande chef",
        "role_administrator": "administratör",
    },
    "en": {
        "title": "Delaktig - dashboard",
        "overview": "All departments",
        "login": "Sign in",
        "logout": "Sign out",
        "token": "Staff token",
        "login_help": "Paste your staff token (JWT).",
        "login_failed": "The token could not be verified.",
        "idp_help": "Sign in through the municipality's sign-in. Signing in with a token is on in development only.",
        "refused_dev_login_off": "Signing in with a token is turned off here.",
        "refused_csrf": "The sign-in did not come from this form. Reload the page and try again.",
        "departments": "Departments",
        "by_stage": "Recruitments by stage",
        "days_in_stage": "Average time in stage (days)",
        "recruitments": "Recruitments",
        "days": "Days",
        "upcoming": "Upcoming interviews without a full panel",
        "none": "None",
        "unit": "Unit",
        "position": "Position",
        "interviews_from": "Interviews from",
        "panel": "Panel",
        "rotation": "Participants: engaged and waiting",
        "in_bank": "In the bank",
        "engaged": "Engaged now",
        "waiting": "Waiting",
        "never_engaged": "Never engaged",
        "honoraria": "Honoraria per month against budget",
        "accrued": "Accrued",
        "paid": "Paid",
        "budget": "Budget",
        "kr": "SEK",
        "no_budget": "No budget set",
        "month": "Month",
        "effect1": "Goal 1: hires",
        "motivation": "Motivation (1-5)",
        "retention": "still employed",
        "retained6": "Retained at 6 months (%)",
        "retained12": "Retained at 12 months (%)",
        "effect2": "Goal 2: managers' rating of what participation added",
        "rating": "Rating (1-5)",
        "effect3": "Goal 3: participants' rating of their influence",
        "imported": "Imported history",
        "live": "In Delaktig",
        "imported_note": "{n} of the recruitments are history from before Delaktig ({first} to {last}), "
                         "added afterwards from paper and spreadsheets. The trends show it with its "
                         "original dates, as a line of its own.",
        "hires": "Hires",
        "open": "Open",
        "manager_rating": "Managers' rating",
        "participant_rating": "Participants' rating",
        "compare": "Departments compared",
        "lag": "Lag behind Kafka",
        "lag_unknown": "unknown",
        "events_behind": "events behind",
        "figures_asof": "The figures were last worked out {when} and hold for {day}. Anything not yet read in "
                        "(the lag above) is not in them.",
        "figures_day": "{d} {month} {y}",
        "figures_when": "on {d} {month} {y} at {hm} UTC",
        "months": "January February March April May June July August September October November December",
        "department": "Department",
        "forbidden": "You are not allowed to see this page.",
        "total": "Total",
        "preparation": "Preparation",
        "advertised": "Advertised",
        "applications": "Applications",
        "assessment": "Assessment",
        "interviews": "Interviews",
        "decided": "Decided",
        "closed": "Closed",
        "language": "På svenska",
        "workspace": "Your workspace",
        "signed_in_as": "Signed in as",
        "role_coordinator": "coordinator",
        "role_hiring_manager": "hiring manager",
        "role_administrator": "administrator",
    },
}


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "sv"


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return request.cookies.get(COOKIE)


def _verify(token: str) -> Principal | None:
    verifier: TokenVerifier = current_app.extensions["delaktig.verifier"]
    try:
        return verifier.verify(token)
    except DomainError:
        return None


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this app, decided by parsing the URL, never by
    pattern. Anything with a scheme or host, a backslash, control characters (a browser drops
    tabs and newlines, turning "/<tab>/evil.example" into ``//evil.example``; CR/LF would split
    the header) or a path that is not absolute goes to the overview instead."""
    if not target or len(target) > 2000:
        return DEFAULT_NEXT
    for form in (target, unquote(target)):  # as sent, and as a browser might decode it
        if "\\" in form or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c.isspace() for c in form):
            return DEFAULT_NEXT
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return DEFAULT_NEXT
    parts = urlsplit(target)
    # Rebuilt from the parsed parts: what the browser is sent to is exactly what was checked.
    return urlunsplit(("", "", parts.path, parts.query, ""))


def dev_login_enabled() -> bool:
    """Signing in by pasting a token: development only (``DELAKTIG_DEV_TOKEN_LOGIN=1``)."""
    flag = current_app.config.get("DELAKTIG_DEV_TOKEN_LOGIN")
    if flag is None:
        flag = os.environ.get(DEV_LOGIN_ENV) == "1"
    return bool(flag)


def csrf_token() -> str:
    """This browser's anti-forgery token (kept in a SameSite=Strict cookie, echoed by forms)."""
    token = getattr(g, "csrf", None)
    if token is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        token = cookie if len(cookie) == 43 else secrets.token_urlsafe(32)
        g.csrf = token
    return str(token)


def _same_origin_post() -> bool:
    """A form POST from this app's own pages: the echoed token matches the cookie, and the
    Origin (when the browser sends one) is this host."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        return False
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(request.form.get("csrf", ""))
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def web_url() -> str | None:
    """The web app's address, for the header's link back to the workspace (one navigation)."""
    public = os.environ.get("WEB_PUBLIC_URL")
    port = os.environ.get("WEB_PORT")
    return public.rstrip("/") if public else (f"http://127.0.0.1:{port}" if port else None)


@pages.context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf": csrf_token(), "web_url": web_url()}


@pages.after_request
def _harden(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        if name == "Content-Security-Policy" and response.mimetype != "text/html":
            continue  # JSON and problem answers keep the stricter policy every service sends
        response.headers.setdefault(name, value)
    if getattr(g, "csrf", None) and request.cookies.get(CSRF_COOKIE) != g.csrf:
        response.set_cookie(CSRF_COOKIE, g.csrf, httponly=True, samesite="Strict", secure=request.is_secure,
                            path="/")
    return response


# -- sign-in: OpenID Connect; pasting a token only under DELAKTIG_DEV_TOKEN_LOGIN=1 ---------------
@pages.record_once
def _setup_oidc(state: Any) -> None:
    app = state.app
    app.secret_key = oidc.session_secret(Path(app.extensions["delaktig.settings"].data_dir))
    app.config.update(SESSION_COOKIE_NAME="delaktig_dashboards", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    oidc.register_from_env(app)


@pages.get("/auth/callback")
def oidc_callback() -> Any:
    """Back from the identity provider: its access token becomes the dashboards' session cookie."""
    try:
        token = oidc.provider().authorize_access_token()
    except Exception:  # state mismatch, refused code, provider down: sign in again
        return redirect("/login")
    return _login_response(str(token["access_token"]), session.pop("dashboards_next", None))


@pages.before_request
def _authenticate() -> Any:
    if request.endpoint in (
        "dashboards_pages.login_form",
        "dashboards_pages.login",
        "dashboards_pages.logout",
        "dashboards_pages.oidc_callback",
    ):
        return None
    token = _token()
    principal = _verify(token) if token else None
    csrf_token()  # every page's sign-out form needs it
    is_api = request.path.startswith("/api/")
    if principal is None:
        if is_api:
            return _problem(401, "Unauthorized", "send a staff token")
        return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}")
    if not principal.has(*STAFF_ROLES):
        return _problem(403, "Forbidden", "this needs a staff role") if is_api else _forbidden()
    g.principal = principal
    return None


def _problem(status: int, title: str, detail: str) -> Response:
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _forbidden() -> Response:
    lang = _lang()
    body = render_template(
        "forbidden.html",
        t=LABELS[lang],
        lang=lang,
        principal=getattr(g, "principal", None),
        departments=[],
        lag=[],
    )
    return Response(body, status=403, mimetype="text/html")


def _login_page(status: int = 200, failed: bool = False, refused: str | None = None) -> Response:
    lang = _lang()
    body = render_template(
        "login.html",
        t=LABELS[lang],
        lang=lang,
        failed=failed,
        refused=refused,
        dev_login=dev_login_enabled(),
        principal=None,
        next=_safe_next(request.values.get("next")),
        departments=[],
        lag=[],
    )
    return Response(body, status=status, mimetype="text/html")


def _login_response(token: str, next_page: str | None = None) -> Any:
    principal = _verify(token)
    if principal is None or not principal.has(*STAFF_ROLES):
        return _login_page(401, failed=True)
    response = redirect(_safe_next(next_page or request.values.get("next")))
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, max_age=8 * 3600, path="/"
    )
    return response


@pages.get("/login")
def login_form() -> Any:
    """Sign-in at the identity provider; with the development flag, the paste-a-token page
    (``?token=`` signs in directly, for scripted and headless logins)."""
    if not dev_login_enabled():
        session["dashboards_next"] = _safe_next(request.args.get("next"))
        return oidc.provider().authorize_redirect(url_for("dashboards_pages.oidc_callback", _external=True))
    if request.args.get("token"):
        return _login_response(str(request.args["token"]))
    return _login_page()


@pages.post("/login")
def login() -> Any:
    """Verify the posted token and keep it in an HttpOnly session cookie (development flag only)."""
    if not dev_login_enabled():
        return _login_page(404, refused="dev_login_off")
    if not _same_origin_post():
        return _login_page(403, refused="csrf")
    return _login_response(str(request.form.get("token", "")).strip())


@pages.post("/logout")
def logout() -> Any:
    """Sign out (a form of this app's own pages only, so another site cannot sign people out)."""
    if not _same_origin_post():
        return _problem(403, "Forbidden", "sign out from the dashboards' own page")
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


def _context() -> dict[str, Any]:
    """What every page needs: the viewer, the departments they may see (one stored row each) and
    the lag. Reads the figures read model only, never the fact tables."""
    principal: Principal = g.principal
    with current_app.extensions["delaktig.db"].transaction() as tx:
        departments = figures.visible(tx, principal.roles, principal.departments)
    lang = _lang()
    return {
        "principal": principal,
        "departments": departments,
        "lang": lang,
        "t": LABELS[lang],
        "lag": current_app.extensions["delaktig.lag"].snapshot(),
        "figures": None,
    }


def figures_note(fresh: dict[str, Any] | None, t: dict[str, str]) -> str | None:
    """The freshness note in plain words: when the figures were worked out, and the day they hold for."""
    if not fresh:
        return None
    months = t["months"].split()

    def day(value: date) -> dict[str, Any]:
        return {"d": value.day, "month": months[value.month - 1], "y": value.year}

    held = t["figures_day"].format(**day(date.fromisoformat(fresh["as_of_date"])))
    if not fresh.get("computed_at"):
        return t["figures_asof"].format(when="", day=held).replace("  ", " ")
    at = datetime.fromisoformat(str(fresh["computed_at"]).replace("Z", "+00:00"))
    when = t["figures_when"].format(**day(at.date()), hm=at.strftime("%H:%M"))
    return t["figures_asof"].format(when=when, day=held)


def _with_figures(ctx: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    fresh = figures.freshness(rows)
    return {**ctx, "figures": fresh, "figures_note": figures_note(fresh, ctx["t"])}


@pages.get("/")
def index() -> Any:
    return redirect("/overview" + ("?lang=en" if _lang() == "en" else ""))


class OverviewQuery(PageQuery):
    arity = 1  # (department code,)


def _by_code(row: dict[str, Any]) -> tuple[str]:
    return (str(row["code"]),)


@pages.get("/api/overview")
def overview_json() -> Any:
    """The administration-wide comparison as JSON (same numbers as the page), a page of
    departments at a time in code order."""
    try:
        query = OverviewQuery().load(request.args)
    except ValidationError as refused:
        field = sorted(refused.normalized_messages())[0]
        return _problem(422, "Unprocessable Content", f"{field}: {refused.normalized_messages()[field]}")
    ctx = _context()
    cursor = decode_cursor(query["cursor"], 1)
    shown = sorted((d for d in ctx["departments"] if cursor is None or (d["code"],) > cursor), key=_by_code)
    shown = shown[: query["limit"] + 1]
    with current_app.extensions["delaktig.db"].transaction() as tx:
        rows = figures.overview_rows(tx, [d["code"] for d in shown])
    page = page_of(rows, query["limit"], _by_code)
    return {**page, "lag": ctx["lag"], "figures": figures.freshness(shown[: query["limit"]])}


@pages.get("/api/departments/<code>")
def department_json(code: str) -> Any:
    """One department's numbers as JSON (same numbers as the page)."""
    ctx = _context()
    shown = [d for d in ctx["departments"] if d["code"] == code]
    d = _department(code) if shown else None
    if d is None:
        if _may_see(code) and not _known(code):
            return _problem(404, "Not found", f"no department {code!r}")
        return _problem(403, "Forbidden", f"your token does not cover department {code!r}")
    return {**d, "lag": ctx["lag"], "figures": figures.freshness(shown)}


def _department(code: str) -> dict[str, Any] | None:
    with current_app.extensions["delaktig.db"].transaction() as tx:
        return figures.department_figures(tx, code)


def _known(code: str) -> bool:
    with current_app.extensions["delaktig.db"].transaction() as tx:
        return figures.known(tx, code)


def _may_see(code: str) -> bool:
    principal: Principal = g.principal
    return principal.can_see_department(code)


@pages.get("/overview")
def overview_page() -> Any:
    """Departments side by side, with a comparison chart."""
    ctx = _context()
    ctx = _with_figures(ctx, ctx["departments"])
    t = ctx["t"]
    with current_app.extensions["delaktig.db"].transaction() as tx:
        rows = figures.overview_rows(tx, [d["code"] for d in ctx["departments"]])
    names = [r["name"] for r in rows]
    comparison = charts.bar_chart(
        t["compare"],
        names,
        [
            (t["open"], [r["open"] for r in rows]),
            (t["hires"], [r["hires"] for r in rows]),
            (t["engaged"], [r["engaged"] for r in rows]),
            (t["waiting"], [r["waiting"] for r in rows]),
        ],
        y_label=t["recruitments"],
    )
    ratings = charts.bar_chart(
        f"{t['manager_rating']} / {t['participant_rating']}",
        names,
        [
            (t["manager_rating"], [r["manager_rating"] for r in rows]),
            (t["participant_rating"], [r["participant_rating"] for r in rows]),
        ],
        y_label=t["rating"],
        y_max=5,
    )
    return render_template(
        "overview.html",
        rows=rows,
        comparison=Markup(comparison),  # noqa: S704 - our own escaped SVG
        ratings=Markup(ratings),  # noqa: S704
        **ctx,
    )


@pages.get("/departments/<code>")
def department_page(code: str) -> Any:
    """One department: stages, panels, rotation, honoraria against budget, the effect goals."""
    ctx = _context()
    shown = [d for d in ctx["departments"] if d["code"] == code]
    d = _department(code) if shown else None
    if d is None:
        if _may_see(code) and not _known(code):
            abort(404)
        return _forbidden()
    ctx = _with_figures(ctx, shown)
    return render_template("department.html", d=d, charts=department_charts(d, ctx["t"]), **ctx)


def _origin_series(t: dict[str, str], rows: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """One line for every rating; with imported history, one for live and one for imported."""
    if not any(r["imported"] for r in rows):
        return [(t["rating"], [r["rating"] for r in rows])]
    return [(t["live"], [r["rating_live"] for r in rows]), (t["imported"], [r["rating_imported"] for r in rows])]


def department_charts(d: dict[str, Any], t: dict[str, str]) -> dict[str, Markup]:
    """The SVG charts of a department page."""
    months = [h["month"] for h in d["honoraria"]]
    budget = d["budget_ore_per_month"]
    hires, managers, participants = d["effect"]["hires"], d["effect"]["managers"], d["effect"]["participants"]
    svg = {
        "by_stage": charts.bar_chart(
            t["by_stage"],
            [t[s] for s in STAGES],
            [(t["recruitments"], [d["by_stage"][s] for s in STAGES])],
            y_label=t["recruitments"],
        ),
        "days_in_stage": charts.bar_chart(
            t["days_in_stage"],
            [t[s] for s in STAGES[:-1]],
            [(t["days"], [d["days_in_stage"][s] for s in STAGES[:-1]])],
            y_label=t["days"],
        ),
        "honoraria": charts.bar_chart(
            t["honoraria"],
            months,
            [
                (t["accrued"], [h["accrued_ore"] / 100 for h in d["honoraria"]]),
                (t["paid"], [h["paid_ore"] / 100 for h in d["honoraria"]]),
            ],
            y_label=t["kr"],
            reference=(t["budget"], budget / 100) if budget is not None else None,
        ),
        "effect1": charts.line_chart(
            t["effect1"] + " - " + t["motivation"],
            [h["month"] for h in hires],
            [(t["motivation"], [h["motivation"] for h in hires])],
            y_label=t["motivation"],
            y_max=5,
        ),
        "retention": charts.bar_chart(
            t["effect1"] + " - " + t["retention"],
            [h["month"] for h in hires],
            [
                (t["retained6"], [h["retained_6"] for h in hires]),
                (t["retained12"], [h["retained_12"] for h in hires]),
            ],
            y_label="%",
            y_max=100,
        ),
        "effect2": charts.line_chart(
            t["effect2"],
            [m["month"] for m in managers],
            _origin_series(t, managers),
            y_label=t["rating"],
            y_max=5,
        ),
        "effect3": charts.line_chart(
            t["effect3"],
            [p["month"] for p in participants],
            _origin_series(t, participants),
            y_label=t["rating"],
            y_max=5,
        ),
    }
    return {k: Markup(v) for k, v in svg.items()}  # noqa: S704 - our own escaped SVG
