"""The `dpa` command as a user runs it: real processes, one-line errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from tests.conftest import answers, free_port

DPA = [sys.executable, "-m", "app"]


def dpa(
    *args: str, database_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        environment["DATABASE_URL"] = database_url
    environment.update(env or {})
    return subprocess.run(  # noqa: S603 - our own command
        [*DPA, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dpa: error: ")
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["demo", "load"],
        ["users"],
        ["users", "create"],
        ["users", "list"],
        ["templates", "list"],
        ["templates", "check"],
        ["templates", "lock"],
        ["agreements", "render"],
        ["vendors", "issue-key"],
        ["evidence", "verify"],
        ["backup"],
        ["import"],
        ["restore"],
    ],
)
def test_help_on_every_command(command: list[str]) -> None:
    result = dpa(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_users_create_prints_a_working_token_last(client: TestClient[Any], clean_database: str) -> None:
    result = dpa("users", "create", "Owner@Test.Example", "--role", "owner", database_url=clean_database)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "owner@test.example" and me.json()["role"] == "owner"

    listed = dpa("users", "list", database_url=clean_database)
    assert "owner@test.example\towner\tactive" in listed.stdout

    assert_one_line_error(
        dpa("users", "create", "owner@test.example", "--role", "owner", database_url=clean_database), "already exists"
    )


def test_vendors_issue_key_prints_a_working_key_last(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    vendor_id = demo["camera"]["vendor_id"]
    result = dpa("vendors", "issue-key", vendor_id, "--name", "deletion uploads", database_url=clean_database)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert client.get("/api/vendor/obligations", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert_one_line_error(
        dpa("vendors", "issue-key", vendor_id, "--network", "nowhere", database_url=clean_database),
        "allowed_networks",
    )
    assert_one_line_error(
        dpa("vendors", "issue-key", "00000000-0000-0000-0000-000000000000", database_url=clean_database),
        "vendor not found",
    )


def test_bad_input_is_one_line(clean_database: str) -> None:
    assert_one_line_error(
        dpa("users", "create", "not-an-email", "--role", "owner", database_url=clean_database), "email"
    )
    assert_one_line_error(dpa("users", "create", "a@b.example", "--role", "king", database_url=clean_database), "king")
    assert_one_line_error(dpa("users", "create", database_url=clean_database), "EMAIL")
    assert_one_line_error(dpa("nonsense"), "No such command")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@localhost/dpa", "DATABASE_URL: unsupported database"),
        ("TZ", "Nowhere/Special", "TZ: unknown time zone"),
        ("SMTP_URL", "smtp://", "SMTP_URL: names no host"),
    ],
)
def test_bad_configuration_is_one_line(variable: str, value: str, expected: str) -> None:
    assert_one_line_error(dpa("users", "list", env={variable: value}), expected)


def test_unreachable_database_is_one_line() -> None:
    result = dpa("users", "list", database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nothing")
    assert_one_line_error(result, "cannot reach the database")


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = dpa("serve", "--port", "1", database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert_one_line_error(result, "dpa db upgrade")


def start_server(url: str, port: int, *options: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`dpa serve` as its own process, answering /health (or failing the test with its output)."""
    environment = {**os.environ, "DATABASE_URL": url, **(env or {})}
    server = subprocess.Popen(  # noqa: S603 - our own command
        [*DPA, "serve", "--port", str(port), *options],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Generous: on a loaded machine (make test runs several test processes) start-up takes seconds.
    if not answers(f"http://127.0.0.1:{port}/health", server, seconds=90):
        server.kill()
        raise AssertionError(f"server did not start: {server.communicate()[0]}")
    return server


def stop_server(server: subprocess.Popen[str]) -> str:
    server.terminate()
    output, _ = server.communicate(timeout=30)
    return output


def test_upgrade_demo_and_serve_like_make_run(tmp_path: Path) -> None:
    """What `make run` does, on a fresh SQLite file, then the README's first curl."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dpa.db'}"
    assert dpa("db", "upgrade", database_url=url).stdout.strip() == "database is up to date"
    loaded = dpa("demo", "load", database_url=url)
    assert loaded.returncode == 0, loaded.stderr
    token = loaded.stdout.strip().splitlines()[-1]
    assert token.startswith("dpu_")

    port = free_port()
    server = start_server(url, port)
    try:
        base = f"http://127.0.0.1:{port}"
        vendors = httpx.get(f"{base}/api/vendors", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert vendors.status_code == 200
        assert vendors.json()["total"] == 5
        # The README's search, its Chinese query percent-encoded (curl -G --data-urlencode q=慧眼)
        found = httpx.get(
            f"{base}/api/vendors", params={"q": "慧眼"}, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert found.status_code == 200 and found.json()["total"] == 1
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/schema/openapi.json", timeout=5).status_code == 401  # the internal API's
        assert httpx.get(f"{base}/schema/openapi.json", headers=auth, timeout=5).status_code == 200
        assert httpx.get(f"{base}/api/vendor/openapi.json", timeout=5).status_code == 200  # the vendor's: public
        # No proxy is trusted by default: a local client cannot name the address that is audited.
        spoofed = {"Authorization": "Bearer dpu_wrong", "X-Forwarded-For": "203.0.113.7"}
        assert httpx.get(f"{base}/api/vendors", headers=spoofed, timeout=5).status_code == 401
        trail = httpx.get(
            f"{base}/api/audit",
            params={"object_type": "credential"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()["items"]
        assert trail[0]["source"] == "127.0.0.1"
    finally:
        output = stop_server(server)
    assert f"http://127.0.0.1:{port}" in output


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_second_make_run_leaves_the_first_server_working(tmp_path: Path) -> None:
    """make run twice on one SQLite database: the second run's demo load revokes nothing, its
    server refuses to start and names the first, and a server on a taken port names its holder."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dpa.db'}"
    env = {"OUTBOX_DIR": str(tmp_path / "outbox")}
    assert dpa("db", "upgrade", database_url=url).returncode == 0
    first_token = dpa("demo", "load", database_url=url).stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(url, port, "--reminders", env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        worker_lock = tmp_path / "var" / "dpa.db.worker.lock"
        deadline = time.monotonic() + 90
        while not (worker_lock.exists() and worker_lock.read_text().startswith("pid ")):
            assert time.monotonic() < deadline, "the reminder worker did not start beside the server"
            time.sleep(0.2)
        worker_pid = int(worker_lock.read_text().split()[1].rstrip(","))

        second = dpa("demo", "load", database_url=url, env=env)
        assert second.returncode == 0, second.stderr
        second_token = second.stdout.strip().splitlines()[-1]
        again = dpa("serve", "--port", str(free_port()), "--reminders", database_url=url, env=env)
        assert_one_line_error(again, "a server is already running on")
        assert f"pid {server.pid}, serving {base}" in again.stderr

        other = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
        assert dpa("db", "upgrade", database_url=other).returncode == 0
        taken = dpa("serve", "--port", str(port), database_url=other)
        assert_one_line_error(taken, f"port {port} on 127.0.0.1 is already in use by pid {server.pid}")

        # A backup is taken while it serves; a restore over its database waits until it stops.
        stored = {**env, "STORAGE_URL": f"file:{tmp_path / 'evidence'}"}
        made = dpa("backup", str(tmp_path / "running.tar"), database_url=url, env=stored)
        assert made.returncode == 0, made.stderr
        refused = dpa("restore", str(tmp_path / "running.tar"), "--force", database_url=url, env=stored)
        assert_one_line_error(refused, f"a server is running on this database (pid {server.pid}")

        # The first server goes on, with the first token and the second.
        for token in (first_token, second_token):
            me = httpx.get(f"{base}/api/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert me.status_code == 200, me.text
        assert server.poll() is None and _alive(worker_pid)
    finally:
        stop_server(server)
    assert not _alive(worker_pid), "the reminder worker outlived its server"


def test_templates_commands() -> None:
    listed = dpa("templates", "list")
    assert listed.returncode == 0 and "pipl-entrusted-processing\tv1\t" in listed.stdout
    checked = dpa("templates", "check")
    assert checked.returncode == 0 and checked.stdout.startswith("ok: ")


def test_agreements_render_writes_the_file(client: TestClient[Any], clean_database: str, tmp_path: Path) -> None:
    from docx import Document

    from app.demo import load
    from tests.conftest import run
    from tests.integration.test_agreements import shown_headings

    _, token = run(load, clean_database)
    headers = {"Authorization": f"Bearer {token}"}
    engagement = client.get("/api/engagements?q=Payroll", headers=headers).json()["items"][0]
    agreement = client.post(
        "/api/agreements",
        json={"engagement_id": engagement["id"], "term_start": "2026-01-01", "term_end": "2026-12-31"},
        headers=headers,
    ).json()
    out = tmp_path / "agreement.docx"
    result = dpa(
        "agreements",
        "render",
        agreement["id"],
        "--format",
        "docx",
        "--lang",
        "zh",
        "--out",
        str(out),
        database_url=clean_database,
    )
    assert result.returncode == 0, result.stderr
    text = "\n".join(shown_headings(Document(str(out))))  # clause numbers are Word's numbering
    assert "第一条 协议双方与背景" in text and "Article 1." not in text
    assert "法定要求对照表" not in text  # the internal annex only when asked for
    missing = dpa(
        "agreements",
        "render",
        "00000000-0000-0000-0000-000000000000",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "x.pdf"),
        database_url=clean_database,
    )
    assert_one_line_error(missing, "agreement not found")
