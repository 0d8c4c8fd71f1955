"""A load generator for the local fleet: HTTPS requests through the balancer, and Sidekiq jobs.

Threads keep their own TLS connections to the balancer's address with the site's Host header (the
local fleet's certificate is self-signed, so it is not checked). Every answer is counted; anything
but a 2xx, or a connection error, is a failure with its reason kept.

Like browsers and curl, a request is sent again, once, on a new connection when a *reused*
keep-alive connection turns out closed before any byte of an answer came back: nginx closes idle
keep-alive connections when it reloads, and a request that raced that close never reached a
server (RFC 9112, section 9.3.1). Such resends are counted and reported; an error on a fresh
connection, or after part of an answer, is a failure. Jobs are enqueued on every
queue with a unique token, so a later look at `/standin/jobs/<token>` tells whether each one ran.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

QUEUES = ("default", "push", "pull", "ingress", "mailers", "scheduler", "fasp")


@dataclass
class LoadFigures:
    requests: int = 0
    failures: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)  # version -> answers (from /standin/whoami)
    hosts: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, str] = field(default_factory=dict)  # job token -> queue
    resent: int = 0  # requests sent again after a reused keep-alive connection was found closed
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        failed = ", ".join(f"{reason}: {count}" for reason, count in self.reasons.most_common(5)) or "none"
        return (
            f"{self.requests} requests in {self.seconds:.1f} s ({rate:.0f}/s), {self.failures} failed ({failed});"
            f" {self.resent} resent on a new connection after an idle keep-alive close;"
            f" {len(self.tokens)} jobs enqueued; versions served: {dict(self.versions)}"
        )


class Load:
    """Run with `with Load(address, domain) as load: ...`; `load.figures` holds the counts."""

    def __init__(self, address: str, domain: str, threads: int = 6, job_every: int = 10) -> None:
        self.address = address
        self.domain = domain
        self.threads = threads
        self.job_every = job_every  # one job per this many requests, per thread
        self.figures = LoadFigures()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    def stop(self) -> LoadFigures:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self.figures.seconds = time.monotonic() - self._started
        return self.figures

    def _connection(self) -> http.client.HTTPSConnection:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # self-signed on the local fleet
        return http.client.HTTPSConnection(self.address, 443, timeout=15, context=context)

    def _run(self, index: int) -> None:
        connection = self._connection()
        count = 0
        while not self._stop.is_set():
            count += 1
            if count % self.job_every == 0:
                queue = QUEUES[(count // self.job_every + index) % len(QUEUES)]
                token = f"load-{uuid.uuid4().hex[:16]}"
                status, body, connection = self._request(
                    connection, "POST", f"/standin/enqueue?queue={queue}&token={token}"
                )
                if status is not None and 200 <= status < 300:
                    with self._lock:
                        self.figures.tokens[token] = queue
            else:
                status, body, connection = self._request(connection, "GET", f"/standin/whoami?load={index}-{count}")
                if status == 200:
                    self._note_whoami(body)

    def _request(
        self, connection: http.client.HTTPSConnection, method: str, path: str
    ) -> tuple[int | None, bytes, http.client.HTTPSConnection]:
        reason = None
        status: int | None = None
        body = b""
        resent = False
        for attempt in (1, 2):
            reused = connection.sock is not None
            try:
                connection.request(method, path, headers={"Host": self.domain})
                response = connection.getresponse()
                status, body = response.status, response.read()
                reason = None if 200 <= status < 300 else f"{method} {status}"
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                connection.close()
                connection = self._connection()
                reason = f"{method} {type(error).__name__}"
                if not (reused and attempt == 1):
                    break
                resent = True
            except (OSError, http.client.HTTPException) as error:
                reason = f"{method} {type(error).__name__}"
                connection.close()
                connection = self._connection()
                break
        with self._lock:
            self.figures.requests += 1
            self.figures.resent += int(resent)
            if reason:
                self.figures.failures += 1
                self.figures.reasons[reason] += 1
        return status, body, connection

    def _note_whoami(self, body: bytes) -> None:
        try:
            answer = json.loads(body)
        except ValueError:
            return
        with self._lock:
            self.figures.versions[str(answer.get("version"))] += 1
            self.figures.hosts[str(answer.get("host"))] += 1
