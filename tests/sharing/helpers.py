"""Helpers for the sharing tests: a hub with sharing on, making and accepting share links."""

from __future__ import annotations

import re

import requests

from ..e2e.gallery_helpers import xsrf_of

#: saturn-local servers; sharing for group "sharers"; the server's token cache short, so a revoke
#: reaches it within seconds (docs/sharing.md)
SHARING_CONFIG = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}, "large": {"cpu": 2, "memory": "4G"}}
c.Saturn.images = {"python": {"prefix": sys.prefix}}
c.Saturn.sharing = {"enabled": True, "groups": ["sharers"], "max_code_lifetime": "7d", "default_expiry": "1d",
                    "revoke_within": "2s"}
c.JupyterHub.last_activity_interval = 3
c.Saturn.auto_shutoff = {"choices": ["1h", "6h"], "default": "1h"}
c.SaturnGallery.store_dir = "gallery-store"
c.SaturnGallery.publisher_groups = ["instructors"]
"""


def share_page(hub, session: requests.Session, server: str = "") -> requests.Response:
    r = session.get(hub.url + "/hub/saturn/share", params={"server": server}, timeout=30)
    assert r.status_code == 200, r.text[-800:]
    return r


def create_link(hub, session: requests.Session, expires_in: str, server: str = "") -> str:
    """Make a share link on the sharing page; returns its full URL."""
    page = share_page(hub, session, server)
    r = session.post(hub.url + "/hub/saturn/share", params={"server": server},
                     data={"_xsrf": xsrf_of(page.text), "action": "code", "expires_in": expires_in}, timeout=30)
    assert r.status_code == 200, r.text[-800:]
    m = re.search(r'id="saturn-share-link" readonly value="([^"]+)"', r.text)
    assert m, "no share link on the page"
    return m.group(1).replace("&amp;", "&")


def authorize(session: requests.Session, r: requests.Response) -> requests.Response:
    """Press "Authorize" on JupyterHub's OAuth page (shown to a guest opening someone else's server)."""
    if "/hub/api/oauth2/authorize" not in r.url or r.status_code != 200:
        return r
    scopes = re.findall(r'<input type="hidden" name="scopes" value="([^"]*)"', r.text)
    return session.post(r.url, data={"_xsrf": xsrf_of(r.text), "scopes": scopes}, timeout=60)


def accept(hub, session: requests.Session, link: str) -> requests.Response:
    """Accept a share link like a browser: open it, press Accept, authorize; follows into the server."""
    r = session.get(link, timeout=30)
    assert r.status_code == 200, r.text[-800:]
    return authorize(session, session.post(link, data={"_xsrf": xsrf_of(r.text)}, timeout=60))


def put_notebook(hub, user: str, path: str, sources: list[str]) -> None:
    """Write a notebook with these code cells into ``user``'s running server (contents API)."""
    import nbformat  # noqa: PLC0415

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    token = hub.user_token(user, scopes=[f"access:servers!user={user}"])
    r = requests.put(f"{hub.url}/user/{user}/api/contents/{path}", json={"type": "notebook", "format": "json",
                     "content": nb}, headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code in (200, 201), r.text[:300]
