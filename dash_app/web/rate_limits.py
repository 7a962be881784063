"""Rate limits on a shared dashboard's doors (Flask-Limiter): sign-in attempts per address, and
page callbacks, images and the JSON API per person (a signed-in account, else the client's
address). One process counts in memory; a team's workers count together in the Redis they
already share (`dashboard.redis_url`), so a limit holds whichever worker a request reaches.
Over a limit the answer is a 429 with Retry-After.

Only where the dashboard asks for sign-in (served beyond this machine, or by several workers):
a local dashboard has one person, this machine, and nothing to share out.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

import flask
from flask_limiter import Limiter

from dash_app.web.auth import LOGIN_PATH, current_person
from dash_app.web.http_guard import from_trusted_proxy
from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)

# which limit a route takes, by the start of its rule
_ROUTES = (
    ("/_dash-update-component", "callbacks"),
    ("/image/", "images"),
    ("/thumb/", "images"),
    ("/api/", "api"),
)


def client_address(cfg: DashboardConfig) -> str:
    """The client's address: the peer's, or behind a trusted proxy the last address it names
    in X-Forwarded-For (a client can write the ones before it, not that one)."""
    request = flask.request
    peer = request.remote_addr or ""
    if from_trusted_proxy(peer, cfg.trusted_proxies):
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed(hops):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                break
    return peer


def _person_key(cfg: DashboardConfig) -> Callable[[], str]:
    def key() -> str:
        person = current_person()  # set by the sign-in gate, which runs before the limits
        return f"person:{person.user_id}" if person else f"address:{client_address(cfg)}"

    return key


def install_rate_limits(
    server: flask.Flask, cfg: DashboardConfig, redis_url: str | None
) -> Limiter | None:
    """Limit the server's routes as `cfg.rate_limits` says; call it after the sign-in gate is
    installed (its person is the key). None when the limits are off."""
    limits = cfg.rate_limits
    if not limits.enabled:
        return None
    limiter = Limiter(
        _person_key(cfg),
        storage_uri=redis_url or "memory://",
        key_prefix="stylescout-limits",
        headers_enabled=True,  # Retry-After (and X-RateLimit-*) on every limited answer
        swallow_errors=True,  # Redis down: requests go on unlimited, and it is logged
    )
    limiter.init_app(server)
    for rule in server.url_map.iter_rules():
        view = server.view_functions.get(rule.endpoint)
        if view is None:
            continue
        if rule.rule == LOGIN_PATH:
            server.view_functions[rule.endpoint] = limiter.limit(
                limits.sign_in, key_func=lambda: f"address:{client_address(cfg)}", methods=["POST"]
            )(view)
            continue
        for prefix, kind in _ROUTES:
            if rule.rule.startswith(prefix):
                limit = limiter.shared_limit(getattr(limits, kind), scope=kind)  # one count a kind
                server.view_functions[rule.endpoint] = limit(view)
                break
    log.info("rate limits on (%s)", "shared in Redis" if redis_url else "in this process")
    return limiter
