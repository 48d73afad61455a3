"""The comparison baseline: a bare Flask hello world, wrapped as ASGI for uvicorn.

`app` is the Flask app wrapped with `a2wsgi.WSGIMiddleware` when a2wsgi is installed, else
with Starlette's `WSGIMiddleware` (a Starlette dependency of Connexion, always present); both
run the WSGI app in a thread pool, as agentyard runs its plain `def` handlers. It is served by
the same stack as agentyard: `uvicorn flask_hello:app` (run from benchmarks/), or gunicorn
with uvicorn workers.

`asgiref.wsgi.WsgiToAsgi` is deliberately not used: under concurrent requests on uvicorn
(asgiref 3.13) about half of its responses are 500s with "RuntimeError:
CurrentThreadExecutor already quit or is broken".
"""

from __future__ import annotations

import warnings
from typing import Any

from flask import Flask

flask_app = Flask(__name__)


@flask_app.get("/hello")
def hello() -> str:
    return "Hello, World!"


def _wrap(wsgi_app: Any) -> tuple[Any, str]:
    try:
        from a2wsgi import WSGIMiddleware

        return WSGIMiddleware(wsgi_app), "a2wsgi.WSGIMiddleware"
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from starlette.middleware.wsgi import WSGIMiddleware

        return WSGIMiddleware(wsgi_app), "starlette.middleware.wsgi.WSGIMiddleware"


app, WRAPPER = _wrap(flask_app.wsgi_app)
