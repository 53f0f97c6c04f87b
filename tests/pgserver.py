"""A throw-away PostgreSQL server for the tests: the real thing, started and stopped by the suite.

`SENDWATCH_TEST_DATABASE_URL` points the tests at a server someone else runs; without it the suite
starts its own (Debian's `postgresql` package; as root it runs as the `postgres` user, since the
server refuses root) and stops it at the end. Each test gets a database of its own.
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
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    host: str
    port: int
    password: str
    process: subprocess.Popen | None = None
    data_dir: Path | None = None
    admin_url: str = ""

    def url(self, database: str) -> str:
        return f"postgresql://sendwatch:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database owned by the test role; returns its URL."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" OWNER sendwatch')
        return self.url(name)

    def stop(self) -> None:
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

        with psycopg.connect(given, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'sendwatch'").fetchone()
            admin.execute(
                f"{'ALTER' if exists else 'CREATE'} ROLE sendwatch LOGIN CREATEDB PASSWORD '{password}'"
            )
            info = admin.info
        return PgServer(
            info.host if info.host.startswith("/") is False else "127.0.0.1",
            info.port,
            password,
            admin_url=given,
        )
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
    deadline = time.monotonic() + 30
    while (
        subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", str(data), "-p", str(port), "-q"]
        ).returncode
        != 0
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the test PostgreSQL server did not start")
        time.sleep(0.1)
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
