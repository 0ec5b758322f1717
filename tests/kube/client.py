"""A tiny synchronous REST client for the test kube-apiserver (JSON dicts in and out)."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests


class ApiError(Exception):
    """Non-2xx answer from the apiserver; ``status`` is the HTTP code."""

    def __init__(self, status: int, method: str, path: str, body: str):
        self.status = status
        self.body = body
        try:
            self.reason = json.loads(body).get("reason", "")
            self.message = json.loads(body).get("message", body)
        except ValueError:
            self.reason, self.message = "", body
        super().__init__(f"{method} {path} -> {status}: {self.message}")


class KubeClient:
    """Authenticated JSON client: client certificate (admin) or bearer token."""

    def __init__(self, url: str, ca_file: str, *, cert: tuple[str, str] | None = None,
                 token: str | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.ca_file = str(ca_file)
        self.cert = cert
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        # requests.Session is not thread-safe: one per thread.
        sess = getattr(self._local, "session", None)
        if sess is None:
            sess = requests.Session()
            # trust_env=False: REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would override ``verify``
            # and *_PROXY must not apply to the loopback apiserver.
            sess.trust_env = False
            sess.verify = self.ca_file
            if self.cert:
                sess.cert = self.cert
            if self.token:
                sess.headers["Authorization"] = f"Bearer {self.token}"
            self._local.session = sess
        return sess

    def request(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                content_type: str = "application/json", timeout: float | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        resp = self.session.request(method, self.url + path, data=data, params=params,
                                    headers=headers, timeout=timeout or self.timeout)
        if resp.status_code >= 300:
            raise ApiError(resp.status_code, method, path, resp.text)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: Any, kind: str = "merge") -> Any:
        ctype = {"merge": "application/merge-patch+json",
                 "strategic": "application/strategic-merge-patch+json",
                 "json": "application/json-patch+json"}[kind]
        return self.request("PATCH", path, body, content_type=ctype)

    def delete(self, path: str, body: Any = None) -> Any:
        return self.request("DELETE", path, body)

    def create_or_get(self, path: str, body: dict) -> dict:
        """POST ``body`` to the collection ``path``; on 409 return the existing object."""
        try:
            return self.post(path, body)
        except ApiError as exc:
            if exc.status != 409:
                raise
            return self.get(f"{path}/{body['metadata']['name']}")

    def close(self) -> None:
        sess = getattr(self._local, "session", None)
        if sess is not None:
            sess.close()
            self._local.session = None
