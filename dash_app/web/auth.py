"""Sign-in for a dashboard shared beyond one machine.

On 127.0.0.1 in one process nobody signs in: the person is the anonymous id in their browser.
Served beyond it, or by several workers, every request needs a session (`dashboard.auth`):

- `password`: accounts in the store (`python -m store users add NAME`), argon2 hashes and a
  doubling wait after failed attempts (store/repositories/accounts.py); the sign-in form at
  /login, the sign-out form at /logout.
- `header`: a reverse proxy doing the company's single sign-on (e.g. oauth2-proxy) names the
  person in `dashboard.trusted_header`; it is believed only from `dashboard.trusted_proxies`.
  Only a page a browser loads starts a session (to carry the CSRF token); health checks, the
  API, images and Dash's own requests are believed on the header alone and make none.

Sessions live in the store (store/repositories/sessions.py), so any worker or machine answers
any request. The session cookie is HttpOnly and SameSite=Lax, Secure over https. Every request
that changes state (any method but GET/HEAD/OPTIONS) carries the session's CSRF token: Dash's
renderer copies the `_csrf_token` cookie into an X-CSRFToken header on each callback, the forms
carry it as a field. Pages without a session go to /login; callbacks, images and the API answer
401. Ratings are keyed to the account (`person_id`), never to an id the browser sends.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import flask
from markupsafe import escape

from dash_app.web import inputs
from dash_app.web.http_guard import from_trusted_proxy
from store import Store
from store.repositories.sessions import Session
from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)

SESSION_COOKIE = "stylescout_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads (its default csrf_token_name)
CSRF_HEADER = "X-CSRFToken"
LOGIN_COOKIE = "stylescout_login"  # the sign-in form's own CSRF token, before any session
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
HEALTH_PATH = "/api/health"  # for load balancers: without a session it says only that it is up
_OPEN_ENDPOINTS = ("_dash_assets.static",)  # the stylesheets the sign-in page uses
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_PAGE_PREFIXES_NOT = (
    "/_dash-",
    "/_reload-hash",
    "/_favicon.ico",
    "/assets/",
    "/static/",
    "/image/",
    "/thumb/",
    "/api/",
)
_HEADER_NAME = re.compile(r"[a-z0-9][a-z0-9_.@+-]{0,253}")
_G_KEY = "stylescout_person"


@dataclass(frozen=True)
class Person:
    """Who a request is from: the name shown and the id their ratings are kept under."""

    name: str
    kind: str  # password | header

    @property
    def user_id(self) -> str:
        """The ratings key: a hash of how they signed in and their name, never an id a browser
        sends, and never equal to an anonymous `u…` id."""
        digest = hashlib.sha256(f"{self.kind}\0{self.name}".encode()).hexdigest()[:32]
        return ("acct_" if self.kind == "password" else "sso_") + digest


def mode_for(cfg: DashboardConfig) -> str:
    """'none', 'password' or 'header' for a dashboard served on `cfg.host` by `cfg.workers`."""
    if cfg.auth != "auto":
        return cfg.auth
    return "none" if is_loopback_host(cfg.host) and cfg.workers == 1 else "password"


def is_loopback_host(host: str) -> bool:
    """Whether binding `host` serves this machine only: a literal loopback address (127.0.0.0/8,
    ::1) or `localhost`. Any other name may resolve anywhere (`127.example.com` is a name, not an
    address), so it counts as beyond this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def person_id(browser_id: object) -> str | None:
    """The id ratings are kept under: the signed-in person's, else (nobody signs in) the
    browser's anonymous id, validated (BadInput when malformed, None when it has none yet)."""
    person = current_person()
    return person.user_id if person is not None else inputs.user_id(browser_id)


def current_person() -> Person | None:
    """The signed-in person of the current request (None without sign-in)."""
    return flask.g.get(_G_KEY) if flask.has_request_context() else None


def trusted_name(request: flask.Request, cfg: DashboardConfig) -> str | None:
    """The name the proxy put in the trusted header, when the request came from a trusted proxy
    and the name is well formed; otherwise None."""
    if not from_trusted_proxy(request.remote_addr, cfg.trusted_proxies):
        return None
    value = (request.headers.get(cfg.trusted_header) or "").strip().lower()
    return value if _HEADER_NAME.fullmatch(value) else None


def _is_page(path: str) -> bool:
    return not path.startswith(_PAGE_PREFIXES_NOT)


def _safe_next(target: object) -> str:
    """Where to go after signing in: a path on this dashboard only (no //host, no scheme)."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target) or len(target) > 500:
        return "/"
    return target


def _refuse(status: int, text: str) -> flask.Response:
    return flask.Response(text, status, mimetype="text/plain")


def _same(sent: object, expected: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


class SignIn:
    """The gate and the sign-in routes of one dashboard's Flask server."""

    def __init__(self, server: flask.Flask, store: Store, cfg: DashboardConfig, mode: str) -> None:
        self.store = store
        self.cfg = cfg
        self.mode = mode
        server.before_request(self._gate)
        server.after_request(self._cookies)
        server.add_url_rule(LOGIN_PATH, "stylescout_login", self._login, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT_PATH, "stylescout_logout", self._logout, methods=["GET", "POST"])

    # -- every request ----------------------------------------------------------------------

    def _gate(self) -> flask.Response | None:
        request = flask.request
        path = request.path
        rule = request.url_rule
        open_door = rule is not None and rule.endpoint in _OPEN_ENDPOINTS
        if path in (LOGIN_PATH, LOGOUT_PATH) or open_door:
            return None  # the forms check their own tokens; the stylesheets are public
        cookie = request.cookies.get(SESSION_COOKIE)
        session = self.store.sessions.get(cookie)
        health = path == HEALTH_PATH and request.method == "GET"
        if self.mode == "header":
            name = trusted_name(request, self.cfg)
            if name is None and health:
                return None  # a load balancer asks; it hears only that the dashboard is up
            if name is None:
                log.info("refused %s %s: no trusted sign-in header", request.method, path[:100])
                return _refuse(401, "sign in through the single sign-on proxy")
            if session is not None and (session.kind != "header" or session.account != name):
                self.store.sessions.end(cookie)  # someone else now: the old session goes
                session = None
            if session is None:
                if request.method not in _SAFE_METHODS:  # a new session has no token to match
                    return _refuse(403, "this page is out of date: reload it")
                if request.method != "GET" or not _is_page(path):
                    # health checks, scripts, images, Dash's own requests: the header names the
                    # person for this request; only a page a browser loads starts a session
                    flask.g.setdefault(_G_KEY, Person(name, "header"))
                    return None
                token, session = self.store.sessions.create(name, "header", self.cfg.session_hours)
                flask.g.stylescout_new_session = token
        elif session is None or session.kind != "password":
            if health:
                return None
            if request.method == "GET" and _is_page(path):
                target = request.full_path.rstrip("?")
                return flask.redirect(f"{LOGIN_PATH}?next={quote(target)}", 303)
            return _refuse(401, "sign in first")
        if request.method not in _SAFE_METHODS and not _same(
            request.headers.get(CSRF_HEADER), session.csrf
        ):
            log.info("refused %s %s: missing or wrong CSRF token", request.method, path[:100])
            return _refuse(403, "this page is out of date: reload it")
        flask.g.stylescout_session = session
        flask.g.setdefault(_G_KEY, Person(session.account, session.kind))
        return None

    def _secure(self) -> bool:
        """Secure cookies over https: seen by this server, or said by a trusted proxy."""
        request = flask.request
        if self.cfg.secure_cookies == "always" or request.is_secure:
            return True
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        trusted = from_trusted_proxy(request.remote_addr, self.cfg.trusted_proxies)
        return proto == "https" and trusted

    def _set_session_cookies(self, response: flask.Response, token: str, session: Session) -> None:
        age = int(self.cfg.session_hours * 3600)
        secure = self._secure()
        response.set_cookie(
            SESSION_COOKIE, token, max_age=age, httponly=True, samesite="Lax", secure=secure
        )
        # readable by the page's script, which echoes it in the X-CSRFToken header
        response.set_cookie(
            CSRF_COOKIE, session.csrf, max_age=age, httponly=False, samesite="Strict", secure=secure
        )

    def _cookies(self, response: flask.Response) -> flask.Response:
        token = flask.g.pop("stylescout_new_session", None)
        session = flask.g.get("stylescout_session")
        if token is not None and session is not None:
            self._set_session_cookies(response, token, session)
        elif session is not None and flask.request.cookies.get(CSRF_COOKIE) != session.csrf:
            response.set_cookie(
                CSRF_COOKIE,
                session.csrf,
                max_age=int(self.cfg.session_hours * 3600),
                samesite="Strict",
                secure=self._secure(),
            )
        cache = response.headers.get("Cache-Control", "")
        if "public" in cache:  # signed-in images are not for shared caches
            response.headers["Cache-Control"] = cache.replace("public", "private")
        response.headers.setdefault("Cache-Control", "no-store")
        response.vary.add("Cookie")
        return response

    # -- the forms --------------------------------------------------------------------------

    def _form(
        self, title: str, body: str, status: int = 200, csrf: str | None = None
    ) -> flask.Response:
        """A small page with a form; `csrf` is the session's token (sign-out), else the sign-in
        form's own, kept in a cookie until the form comes back (double submit)."""
        token = csrf or flask.request.cookies.get(LOGIN_COOKIE)
        if not (isinstance(token, str) and re.fullmatch(r"[0-9a-f]{64}", token)):
            token = secrets.token_hex(32)
        html = _PAGE.format(title=escape(title), body=body.replace("{csrf}", token))
        response = flask.Response(html, status, mimetype="text/html")
        if csrf is None:
            response.set_cookie(
                LOGIN_COOKIE,
                token,
                max_age=3600,
                httponly=True,
                samesite="Strict",
                secure=self._secure(),
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    def _form_token_ok(self) -> bool:
        cookie = flask.request.cookies.get(LOGIN_COOKIE)
        return isinstance(cookie, str) and _same(flask.request.form.get("csrf"), cookie)

    def _login(self) -> flask.Response:
        if self.mode == "header":
            return flask.redirect("/", 303)
        request = flask.request
        target = _safe_next(request.values.get("next"))
        if request.method != "POST":  # GET, or HEAD: the same answer, without its body
            return self._form("Sign in", _login_body(target, ""))
        if not self._form_token_ok():
            return self._form("Sign in", _login_body(target, "The form was out of date."), 403)
        name = str(request.form.get("name", ""))[:64].strip().lower()
        password = str(request.form.get("password", ""))[:1024]
        outcome = self.store.accounts.sign_in(name, password)
        if not outcome.ok:
            log.info("failed sign-in for %r from %s", name[:64], request.remote_addr)
            if outcome.wait_s:
                why = f"Too many failed attempts: try again in {outcome.wait_s} s."
                return self._form("Sign in", _login_body(target, why), 429)
            return self._form("Sign in", _login_body(target, "Wrong name or password."), 401)
        old = request.cookies.get(SESSION_COOKIE)
        self.store.sessions.end(old)  # a new secret on every sign-in (no fixation)
        token, session = self.store.sessions.create(name, "password", self.cfg.session_hours)
        log.info("%s signed in from %s", name, request.remote_addr)
        response = flask.redirect(target, 303)
        self._set_session_cookies(response, token, session)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    def _logout(self) -> flask.Response:
        request = flask.request
        token = request.cookies.get(SESSION_COOKIE)
        session = self.store.sessions.get(token)
        if request.method == "GET" or session is None:
            if session is None:
                return flask.redirect(LOGIN_PATH, 303)
            body = _LOGOUT_BODY.format(name=escape(session.account))
            return self._form("Sign out", body, csrf=session.csrf)
        if not _same(request.form.get("csrf"), session.csrf):
            return _refuse(403, "this page is out of date: reload it")
        self.store.sessions.end(token)
        response = flask.redirect(LOGIN_PATH if self.mode == "password" else "/", 303)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(CSRF_COOKIE)
        return response


def _login_body(target: str, message: str) -> str:
    note = f'<div class="alert alert-danger" id="login-message">{escape(message)}</div>'
    return _LOGIN_BODY.format(next=escape(target), note=note if message else "")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StyleScout · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/bootstrap.min.css">
<link rel="stylesheet" href="/assets/stylescout.css"></head>
<body><main class="container" style="max-width: 26rem; margin-top: 4rem">
<h1 class="h4 mb-3">StyleScout · {title}</h1>
{body}
</main></body></html>"""

_LOGIN_BODY = """{note}<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="next" value="{next}">
<label class="form-label" for="login-name">Name</label>
<input class="form-control mb-2" id="login-name" name="name" autocomplete="username" required>
<label class="form-label" for="login-password">Password</label>
<input class="form-control mb-3" id="login-password" name="password" type="password"
 autocomplete="current-password" required>
<button class="btn btn-primary" id="login-submit" type="submit">Sign in</button>
</form>
<p class="small text-muted mt-3">Accounts are made on the server:
<code>python -m store users add NAME</code>.</p>"""

_LOGOUT_BODY = """<form method="post" action="/logout" id="logout-form">
<input type="hidden" name="csrf" value="{{csrf}}">
<p>Signed in as <strong id="logout-name">{name}</strong>.</p>
<button class="btn btn-secondary" id="logout-submit" type="submit">Sign out</button>
</form>"""
