"""A throw-away PostgreSQL server for the tests: the real thing, started and stopped by the suite.

`SENDWATCH_TEST_DATABASE_URL` points the tests at a server someone else runs; without it the suite
starts its own (Debian's `postgresql` package; as root it runs as the `postgres` user, since the
server refuses root) and stops it at the end. Each test gets a database of its own.

Several test runs may start at once (other developers' runs on one machine): each run has its own
data directory, socket directory and role (`sendwatch_<random>`, so a shared server's role password
is never changed under another run), and a port taken between choosing it and binding it is
retried with another.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_SECONDS = 120  # initdb and the first start on a machine busy with other runs


@dataclass
class PgServer:
    host: str
    port: int
    password: str
    process: subprocess.Popen | None = None
    data_dir: Path | None = None
    admin_url: str = ""
    role: str = "sendwatch"
    databases: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql://{self.role}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database owned by the test role; returns its URL."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" OWNER "{self.role}"')
        self.databases.append(name)
        return self.url(name)

    def stop(self) -> None:
        if self.process is None and self.admin_url:  # someone else's server: leave it as found
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                for name in self.databases:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f"DROP ROLE IF EXISTS {self.role}")
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found: apt-get install -y postgresql (or set SENDWATCH_TEST_DATABASE_URL)"
        )
    return Path(found[-1]).parent


def start() -> PgServer:
    """Use SENDWATCH_TEST_DATABASE_URL (an admin URL) if given, else start a private server."""
    given = os.environ.get("SENDWATCH_TEST_DATABASE_URL")
    password = secrets.token_hex(8)
    if given:
        import psycopg

        role = "sendwatch_" + secrets.token_hex(4)  # this run's own: other runs keep theirs
        with psycopg.connect(given, autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'")
            info = admin.info
        return PgServer(
            info.host if info.host.startswith("/") is False else "127.0.0.1",
            info.port,
            password,
            admin_url=given,
            role=role,
        )
    for _attempt in range(5):
        server = _start_private(password)
        if server is not None:
            return server
    raise RuntimeError("the test PostgreSQL server did not start (5 ports tried)")


def _start_private(password: str) -> PgServer | None:
    """A private server on a free port; None when another process took the port first."""
    bin_dir = _bin()
    data = Path(tempfile.mkdtemp(prefix="sendwatch-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(data / "data"),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ],
        check=True,
        cwd="/",
        capture_output=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            *run_as,
            str(bin_dir / "postgres"),
            "-D",
            str(data / "data"),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "shared_buffers=32MB",
            "-c",
            "max_connections=200",
        ],
        cwd="/",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while (
        subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", str(data), "-p", str(port), "-q"]
        ).returncode
        != 0
    ):
        if process.poll() is not None:  # e.g. the port was taken meanwhile: try another
            shutil.rmtree(data, ignore_errors=True)
            return None
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            shutil.rmtree(data, ignore_errors=True)
            raise RuntimeError("the test PostgreSQL server did not start")
        time.sleep(0.1)  # polling the server's readiness, bounded by the deadline above
    subprocess.run(
        [
            str(bin_dir / "psql"),
            "-q",
            "-h",
            str(data),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-c",
            f"CREATE ROLE sendwatch LOGIN CREATEDB PASSWORD '{password}'",
        ],
        check=True,
        capture_output=True,
    )
    admin = f"postgresql://postgres@/postgres?host={data}&port={port}"
    return PgServer("127.0.0.1", port, password, process, data, admin)
