"""One SaaS API over HTTP: authentication, a request rate ceiling, retries with back-off, paged lists.

Errors never carry what was sent or answered (both hold personal data): only the method, the path as the
definition writes it (``/v1/customers/{id}``), the status and the table.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.connectors.http.definition import Definition, Pagination, Read, Write

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, values: Mapping[str, Any], *, quote: bool = False) -> str:
    """``template`` with each ``{name}`` replaced (URL-quoted in paths); a missing name is a ``KeyError``."""

    def one(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        text = "" if value is None else str(value)
        return httpx.URL(path="/" + text).raw_path.decode()[1:] if quote else text

    return PLACEHOLDER.sub(one, template)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class ApiClient:
    def __init__(self, dataset: str, base_url: str, definition: Definition, secrets: Mapping[str, str]) -> None:
        self.dataset = dataset
        self.definition = definition
        self.secrets = dict(secrets)
        self._lock = threading.Lock()
        self._next_at = 0.0
        headers = {"Accept": "application/json", "User-Agent": "dataright"}
        auth: httpx.BasicAuth | None = None
        a = definition.auth
        if a.type == "bearer" and a.token:
            headers["Authorization"] = "Bearer " + fill(a.token, self.secrets)
        elif a.type == "header" and a.token:
            headers[a.header] = fill(a.token, self.secrets)
        elif a.type == "basic" and a.username is not None:
            auth = httpx.BasicAuth(fill(a.username, self.secrets), fill(a.password or "", self.secrets))
        self.http = httpx.Client(base_url=base_url, headers=headers, auth=auth, timeout=definition.timeout)

    def close(self) -> None:
        self.http.close()

    # -- one call -------------------------------------------------------------------------------
    def _pace(self) -> None:
        if self.definition.rate_limit is None:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + 1.0 / self.definition.rate_limit
        if wait > 0:
            time.sleep(wait)

    def call(
        self,
        method: str,
        template: str,
        path: str,
        *,
        table: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One request, retried on the definition's statuses and on network errors; None for a 404 when
        ``missing_ok``."""
        retry = self.definition.retry
        where = f"{method} {template}"
        reason = ""
        for attempt in range(retry.attempts):
            self._pace()
            try:
                response = self.http.request(method, path, params=params, json=json, data=data)
            except httpx.TransportError as exc:
                reason = f"{where}: {type(exc).__name__}"
                delay = retry.backoff * 2**attempt
            else:
                status = response.status_code
                if status < 300:
                    return response
                if status == 404 and missing_ok:
                    return None
                if status in (401, 403):
                    raise DatastoreUnavailable(self.dataset, f"{where}: credentials refused (HTTP {status})", table)
                if status not in retry.statuses:
                    raise DatasetMismatch([f"{self.dataset}.{table}: {where} answered HTTP {status}"])
                reason = f"{where} answered HTTP {status} after {attempt + 1} tries"
                delay = _retry_after(response) if status in (429, 503) else None
                if delay is None:
                    delay = retry.backoff * 2**attempt
            if attempt + 1 < retry.attempts:
                time.sleep(min(delay, retry.max_backoff))
        raise DatastoreUnavailable(self.dataset, reason, table)

    # -- reading --------------------------------------------------------------------------------
    def read(self, read: Read, value: Any, *, table: str) -> Iterator[dict[str, Any]]:
        """Every object ``read`` finds for ``value``, page after page."""
        values = {**self.secrets, "value": value}
        path = fill(read.path, values, quote=True)
        params: dict[str, Any] = {k: fill(v, values) for k, v in read.params.items()}
        if read.single:
            response = self.call(read.method, read.path, path, table=table, params=params, missing_ok=True)
            if response is not None:
                body = dig(response.json(), read.data)
                if isinstance(body, dict):
                    yield body
            return
        paging = read.pagination or self.definition.pagination
        yield from self._pages(read, path, params, paging, table)

    def _pages(
        self, read: Read, path: str, params: dict[str, Any], paging: Pagination, table: str
    ) -> Iterator[dict[str, Any]]:
        page = 1
        cursor: Any = None
        while True:
            query = dict(params)
            if paging.type != "none" and paging.limit_param:
                query[paging.limit_param] = paging.limit
            if paging.type == "cursor" and cursor is not None:
                query[paging.cursor_param] = cursor
            if paging.type == "page":
                query[paging.page_param] = page
            response = self.call(read.method, read.path, path, table=table, params=query, missing_ok=True)
            if response is None:
                return
            body = response.json()
            items = dig(body, read.data)
            if not isinstance(items, list):
                raise DatasetMismatch(
                    [f"{self.dataset}.{table}: {read.method} {read.path} did not answer a list at {read.data!r}"]
                )
            yield from (i for i in items if isinstance(i, dict))
            if paging.type == "none" or not items:
                return
            if paging.type == "cursor":
                if not (isinstance(body, dict) and body.get(paging.has_more)):
                    return
                cursor = items[-1].get(paging.cursor_field)
                if cursor is None:
                    return
            else:
                if len(items) < paging.limit:
                    return
                page += 1

    # -- writing --------------------------------------------------------------------------------
    def write(self, write: Write, row: Mapping[str, Any], changes: Mapping[str, Any], *, table: str) -> bool:
        """Send ``changes`` for ``row`` (a delete sends none); False when the row is already gone."""
        path = fill(write.path, {**self.secrets, **row}, quote=True)
        body = {write.names.get(k, k): write.null_as if v is None else v for k, v in changes.items()}
        json = body if write.body == "json" and write.method != "DELETE" else None
        form = {k: "" if v is None else _form(v) for k, v in body.items()} if write.body == "form" else None
        response = self.call(write.method, write.path, path, table=table, json=json, data=form, missing_ok=True)
        return response is not None


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dig(body: Any, where: str | None) -> Any:
    if not where:
        return body
    for part in where.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
