"""An Instagram-like login-walled tag grid, for the opt-in cookie source (`sources.instagram`)."""

from __future__ import annotations

from flask import Flask, Response, redirect, request

from sandbox.fault_server import good_jpeg

SESSION = "s3cr3t-session-value-0123456789"


def create_replica_app(posts: int = 12) -> Flask:
    app = Flask(__name__)

    @app.get("/explore/tags/<tag>/")
    def grid(tag: str) -> Response | str:
        if request.cookies.get("sessionid") != SESSION:
            return redirect("/accounts/login/")
        cells = "".join(
            f'<div class="_aabd"><a href="/p/C{i:04d}/"><div><img alt="Look {i} #{tag} #ootd" '
            f'src="/media/{i}.jpg?stp=s150" srcset="/media/{i}.jpg?stp=s150 150w, '
            f'/media/{i}.jpg 640w"></div></a></div>'
            for i in range(posts)
        )
        return f"<html><body><main><article>{cells}</article></main></body></html>"

    @app.get("/accounts/login/")
    def login() -> str:
        return "<html><body><form>Log in to see photos</form></body></html>"

    @app.get("/media/<int:n>.jpg")
    def media(n: int) -> Response:
        if request.cookies.get("sessionid") != SESSION:
            return Response("login required", status=403)
        return Response(good_jpeg(100 + n), mimetype="image/jpeg")

    return app
