"""`monitor serve`: the review desk in the browser, on the same database as the crawler.

Login (optional) comes from the environment: ``MONITOR_WEB_TOKEN`` (a shared token) and/or
``MONITOR_WEB_BASIC_AUTH`` (``user:password``). Binding beyond loopback without either is allowed but warned
about loudly: scraped articles and the translation queue would be open to the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import click

from monitor.commands.common import console, db_option, open_store, resolve_db

TOKEN_ENV = "MONITOR_WEB_TOKEN"
BASIC_AUTH_ENV = "MONITOR_WEB_BASIC_AUTH"


def auth_from_env(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(token, basic auth `user:password`) from the environment; empty means unset."""
    token = environ.get(TOKEN_ENV, "").strip() or None
    basic = environ.get(BASIC_AUTH_ENV, "").strip() or None
    if basic is not None and ":" not in basic:
        raise click.ClickException(f"{BASIC_AUTH_ENV} must be user:password")
    return token, basic


def exposure_warning(host: str, has_auth: bool) -> str | None:
    """The warning to print when the desk is reachable from other machines without a login, else None."""
    from monitor.web.security import is_loopback

    if is_loopback(host) or has_auth:
        return None
    return (
        f"WARNING: serving on {host}, beyond this machine, WITHOUT a login. Anyone who can reach the port can read "
        f"the articles and change the translation queue. Set {TOKEN_ENV} or {BASIC_AUTH_ENV}=user:password, "
        "or bind to 127.0.0.1."
    )


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback by default)."
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@db_option
def serve(host: str, port: int, db_url: str | None) -> None:
    """Start the review desk (inbox, item pages, actions, dashboard) in the browser.

    Example: MONITOR_WEB_TOKEN=s3cret monitor serve --host 0.0.0.0 --port 8080 --db sqlite:///monitor.db
    """
    from werkzeug.serving import make_server

    from monitor.web.app import create_app

    token, basic = auth_from_env(os.environ)
    warning = exposure_warning(host, bool(token or basic))
    if warning:
        console.print(f"[bold red]{warning}[/]", highlight=False)
    url = resolve_db(db_url)
    open_store(url)  # creates or upgrades the schema before the desk reads it
    app = create_app(url, auth_token=token, basic_auth=basic)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    console.print(f"Review desk on http://{host}:{port}/ (Ctrl-C to stop)", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
