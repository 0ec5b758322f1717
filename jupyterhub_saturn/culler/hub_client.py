"""A small async client for the JupyterHub REST API, as the culler uses it.

Every request goes through one semaphore (``concurrency``), so a sweep never has more than
that many requests outstanding however many servers it handles. Requests are counted
(``requests``) for logs and benchmarks. Failures raise :class:`HubError` with the method,
path and status; the sweep logs them and carries on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

PAGINATION = "application/jupyterhub-pagination+json"


class HubError(Exception):
    """A failed request: ``status`` is the HTTP status, or 599 for network errors and timeouts."""

    def __init__(self, method: str, url: str, status: int, message: str):
        self.method, self.url, self.status, self.message = method, url, status, message
        super().__init__(f"{method} {url}: {status} {message}")


def user_path(user: str) -> str:
    """``/users/<name>``, escaped."""
    return "/users/" + quote(user, safe="")


def server_path(user: str, server: str = "") -> str:
    """``/users/<name>/server`` (default server) or ``/users/<name>/servers/<server>``, escaped."""
    return user_path(user) + ("/servers/" + quote(server, safe="") if server else "/server")


class HubClient:
    """Calls ``<api_url><path>`` with ``Authorization: token <token>``."""

    def __init__(self, api_url: str, token: str, *, concurrency: int = 10, timeout: float = 60):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0
        self._semaphore = asyncio.Semaphore(concurrency)
        self._http = AsyncHTTPClient(force_instance=True, max_clients=concurrency)

    def close(self) -> None:
        self._http.close()

    async def fetch(self, method: str, url: str, *, body: object = None, headers: Mapping | None = None,
                    ok: Iterable[int] = (200,)) -> tuple[int, object]:
        """One request to an absolute ``url``; returns ``(status, parsed JSON or None)``."""
        all_headers = {"Authorization": f"token {self.token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        request = HTTPRequest(
            url, method=method, headers=all_headers, body=data, allow_nonstandard_methods=True,
            request_timeout=self.timeout, connect_timeout=min(self.timeout, 20), follow_redirects=False,
        )
        async with self._semaphore:
            self.requests += 1
            try:
                response = await self._http.fetch(request, raise_error=False)
            except HTTPClientError as e:  # tornado raises these for 599s even with raise_error=False
                raise HubError(method, url, e.code, str(e)) from None
            except OSError as e:
                raise HubError(method, url, 599, str(e)) from None
        if response.code == 599:
            raise HubError(method, url, 599, str(response.error))
        text = response.body.decode("utf8", "replace") if response.body else ""
        if response.code not in ok:
            raise HubError(method, url, response.code, _message(text))
        if not text:
            return response.code, None
        try:
            return response.code, json.loads(text)
        except ValueError:
            raise HubError(method, url, response.code, f"not JSON: {text[:80]!r}") from None

    async def api(self, method: str, path: str, *, params: Mapping | None = None, body: object = None,
                  ok: Iterable[int] = (200,), headers: Mapping | None = None) -> tuple[int, object]:
        """A request to the hub API ``path`` (e.g. ``/users``)."""
        url = self.api_url + path + ("?" + urlencode(params) if params else "")
        return await self.fetch(method, url, body=body, ok=ok, headers=headers)

    async def list_users(self, *, state: str | None = "ready", page_size: int = 200) -> list[dict]:
        """Every user model of ``GET /users?state=...``: the first page, then the rest concurrently.

        Offsets come from ``_pagination`` (the hub may cap ``limit``); all pages are read before
        anything is stopped, so servers stopping mid-sweep cannot shift a page.
        """
        params = {"limit": str(page_size)}
        if state:
            params["state"] = state
        _, first = await self.api("GET", "/users", params=params, headers={"Accept": PAGINATION})
        if isinstance(first, list):  # a hub that does not paginate
            return first
        if not isinstance(first, dict) or not isinstance(first.get("items"), list):
            raise HubError("GET", self.api_url + "/users", 200, "unexpected answer shape")
        users = list(first["items"])
        info = first.get("_pagination") or {}
        limit = int(info.get("limit") or page_size)
        total = int(info.get("total") or 0)
        offsets = range(limit, total, limit) if info.get("next") else range(0)
        pages = await asyncio.gather(*(
            self.api("GET", "/users", params={**params, "offset": str(o), "limit": str(limit)},
                     headers={"Accept": PAGINATION})
            for o in offsets
        ))
        seen = {u.get("name") for u in users}
        for _, page in pages:
            for user in (page or {}).get("items", []):
                if user.get("name") not in seen:
                    seen.add(user.get("name"))
                    users.append(user)
        return users


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])[:300]
    return text[:200]
