"""The `dpa` command: serve, migrate, load the demo, manage users and vendor keys, verify evidence.

Every failure prints one line, `dpa: error: ...`, and exits non-zero; never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from litestar.exceptions import HTTPException
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.library import LibraryError
from app.agreements.schemas import DocumentFormat, Language
from app.core.actor import Role
from app.core.database import create_engine, create_sessionmaker
from app.core.errors import DomainError
from app.core.settings import ConfigError, Settings

T = TypeVar("T")


class CommandError(click.ClickException):
    """A failure the user can act on, already worded for them."""


def settings() -> Settings:
    return Settings.from_env()


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction that lands through the settle step, like a request."""
    from app.settle import settle

    async def run() -> T:
        engine = create_engine(settings().database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await settle(session)
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """dpa: the registry of vendors that process personal information for us (PIPL)."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--reminders",
    is_flag=True,
    help="Run the reminder worker (dpa worker) beside the server too, stopped with it (make run does).",
)
def serve(host: str, port: int, workers: int, reminders: bool) -> None:
    """Serve the API (OpenAPI docs at /schema). On SQLite one server runs per database: a
    second one refuses to start, naming the first, which goes on working."""
    import signal
    import subprocess

    import uvicorn

    from app.core.database import pending_migrations
    from app.core.locks import AlreadyRunning, PortUnavailable, check_port, hold, sqlite_lock_path

    config = settings()
    if pending_migrations(config.database_url):
        raise CommandError("the database schema is not up to date: run `dpa db upgrade` first")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    address = f"http://{shown}:{port}"
    lock = sqlite_lock_path(config.database_url, "serve")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(hold(lock, f"serving {address}"))
        except AlreadyRunning as running:
            raise CommandError(
                f"a server is already running on {str(lock).removesuffix('.serve.lock') if lock else 'it'} "
                f"({running.holder}), and a SQLite database takes one: use that one (a token from "
                "`dpa demo load` works on it), or stop it first"
            ) from None
        try:
            check_port(host, port)
        except PortUnavailable as error:
            raise CommandError(f"{error}: stop it, or choose another port (--port, or make run PORT=...)") from None
        if reminders:
            worker = subprocess.Popen([sys.executable, "-m", "app", "worker"])
            stack.callback(_stop, worker)
            # uvicorn raises SIGTERM again once it has shut down; exit through this block then,
            # so the worker is stopped too rather than left behind.
            signal.signal(signal.SIGTERM, _exit_on_signal)
        click.echo(f"dpa serving on {address}  (API docs: {address}/schema; vendor API: {address}/api/vendor/docs)")
        # Forwarded headers only from the proxies named in FORWARDED_ALLOW_IPS (uvicorn would trust
        # loopback by default, letting any local client set the audited address and pass allow-lists).
        proxies = ",".join(config.trusted_proxies)
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=config.log_level.lower(),
            # app.requests already logs each request, with its id and time: uvicorn's own access
            # line was a second, written synchronously on the event loop.
            access_log=False,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _stop(process: Any) -> None:
    """Stop a child process (the reminder worker), as Ctrl-C would, and wait for it."""
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@cli.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    from app.core.database import upgrade as run_upgrade

    run_upgrade(settings().database_url)
    click.echo("database is up to date")


@db.command()
@click.argument("message")
def revision(message: str) -> None:
    """Write a new migration from the difference between models and database (developers)."""
    from app.core.database import revision as make_revision

    make_revision(settings().database_url, message)


def _engine_and_settings() -> tuple[Settings, Any]:
    from app.core import clock
    from app.core.database import pending_migrations
    from app.worker import configure_policy

    config = settings()
    if pending_migrations(config.database_url):
        raise CommandError("the database schema is not up to date: run `dpa db upgrade` first")
    clock.configure(config.tz)
    configure_policy(config)
    return config, create_engine(config.database_url)


@cli.command()
def worker() -> None:
    """Send reminders: every WORKER_INTERVAL_SECONDS queue what is due, batch it per
    recipient and send it; derive every deadline again once a day. Stop with Ctrl-C."""
    import signal

    from app.worker import run_forever, single_worker

    config, engine = _engine_and_settings()
    where = f"SMTP {config.smtp.host}:{config.smtp.port}" if config.smtp else f"{config.outbox_dir}/ (.eml files)"

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await run_forever(engine, config, stop)
        finally:
            await engine.dispose()

    with single_worker(config):
        click.echo(f"dpa worker: reminders to {where}, a pass every {config.worker_interval} s")
        asyncio.run(main())


@cli.group()
def reminders() -> None:
    """Reminders of deadlines, by e-mail."""


def _moment(_ctx: Any, _param: Any, value: str | None) -> Any:
    if value is None:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO date or date-time, e.g. 2027-11-28T09:00:00+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings().tz))


@reminders.command("run")
@click.option("--once", is_flag=True, required=True, help="One pass, then exit (for cron; required).")
@click.option("--now", callback=_moment, help="Act as if it were this moment (ISO; default: now, in TZ).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
def reminders_run(once: bool, now: Any, dry_run: bool) -> None:
    """Queue, batch and send what is due at one moment, then exit."""
    from contextlib import nullcontext

    from app.core.storage import open_storage
    from app.worker import one_pass, refresh, single_worker

    config, engine = _engine_and_settings()

    async def main() -> Any:
        try:
            if not dry_run:
                await refresh(engine, open_storage(config.storage_url))
            return await one_pass(engine, config, now=now, dry_run=dry_run)
        finally:
            await engine.dispose()

    with nullcontext() if dry_run else single_worker(config):
        report = asyncio.run(main())
    for message in report.messages:
        verb = "would send" if dry_run else "sent"
        click.echo(f"{verb} to {message['To']}: {message['Subject']}")
    click.echo(
        f"{'dry run: ' if dry_run else ''}{report.queued} reminders queued, {len(report.messages)} digests "
        f"{'to send' if dry_run else 'sent'}, {report.retried} to retry, {report.dead} dead"
    )


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def check(path: str) -> None:
    """Before you buy: print the findings a proposed engagement (JSON, the body of
    POST /api/engagements) would raise. Exit 1 if any is critical or high."""
    import json

    from app.engagements.schemas import EngagementProposal
    from app.engagements.services import check_consistency
    from app.findings import services
    from app.findings.schemas import Severity

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: not JSON ({error})") from None
    proposal = EngagementProposal.model_validate(raw)
    check_consistency(proposal)
    found = run_in_session(lambda session: services.check(session, proposal))
    for finding in found:
        click.echo(f"{finding.severity:8} {finding.rule_id:4} {finding.title_en} / {finding.title_zh}")
        click.echo(f"{'':14}{finding.explanation_en}")
        click.echo(f"{'':14}{'; '.join(finding.articles)}")
    click.echo(f"{len(found)} findings")
    if any(finding.severity in (Severity.critical, Severity.high) for finding in found):
        raise click.exceptions.Exit(1)


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--apply", "apply", is_flag=True, help="Write the rows (default: preview only, nothing is written).")
def import_file(path: str, apply: bool) -> None:
    """Import vendors, engagements and sub-processors from the XLSX template or a CSV (UTF-8 or
    GB18030). Prints each row: create, update, unchanged, or the error with its sheet, row and
    column. With --apply, writes every row in one transaction, or nothing if any row has an error."""
    from app.core.actor import CLI_ACTOR
    from app.imports import services, workbook
    from app.imports.schemas import ImportReport, RowAction

    data = Path(path).read_bytes()
    tables = workbook.read(data, Path(path).name)

    async def work(session: AsyncSession) -> ImportReport:
        return await services.run(session, tables=tables, actor=CLI_ACTOR, apply=apply)

    report = run_in_session(work)
    for row in report.rows:
        if row.action == RowAction.error:
            for error in row.errors:
                where = f"{row.sheet_title} row {row.row}" + (f", {error.column}" if error.column else "")
                click.echo(f"error\t{where}: {error.message}")
        else:
            changed = f" ({', '.join(row.changed)})" if row.changed else ""
            click.echo(f"{row.action.value}\t{row.sheet_title} row {row.row}: {row.key}{changed}")
    counts = report.counts
    summary = f"{counts.create} create, {counts.update} update, {counts.unchanged} unchanged, {counts.error} errors"
    if report.applied:
        click.echo(f"imported: {summary}")
    elif apply:
        click.echo(f"nothing imported: {summary}")
    else:
        click.echo(f"preview, nothing written: {summary}; run again with --apply to import")
    if counts.error:
        raise click.exceptions.Exit(1)


@cli.command("evidence-pack")
@click.option("--vendor", "vendor_id", type=click.UUID, help="One vendor's pack (default: everything).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The ZIP file to write.")
def evidence_pack(vendor_id: Any, out: str) -> None:
    """Write the evidence pack for an inspection: agreements, attestations and their files,
    findings, obligations, the audit trail, a manifest of SHA-256 sums and an index.html."""
    from app.core.storage import open_storage
    from app.exports import pack

    storage = open_storage(settings().storage_url)
    title, entries = run_in_session(lambda session: pack.plan(session, storage, vendor_id))
    size, unreadable = 0, list[dict[str, str]]()
    with open(out, "wb") as file:
        for chunk in pack.stream(title, entries, unreadable=unreadable):
            file.write(chunk)
            size += len(chunk)
    click.echo(f"wrote {out}: {len(entries) - len(unreadable) + 2} files, {size:,} bytes ({title})")
    for item in unreadable:
        click.echo(f"unreadable\t{item['path']}\t{item['error']}")

    async def record(session: AsyncSession) -> None:
        from app.audit import services as audit
        from app.audit.schemas import AuditAction, AuditObject
        from app.core.actor import CLI_ACTOR

        changes = {"files": len(entries) - len(unreadable), "unreadable": len(unreadable), "out": out}
        audit.record(session, CLI_ACTOR, AuditAction.export, AuditObject.evidence_pack, vendor_id or "all", changes)

    run_in_session(record)
    if unreadable:
        raise click.exceptions.Exit(1)


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; name the first entry altered, removed or moved (exit 1)."""
    from app.audit.chain import verify

    report = run_in_session(verify)
    if report.problem:
        click.echo(f"audit trail broken after {report.intact} intact entries: {report.problem}")
        raise click.exceptions.Exit(1)
    click.echo(f"audit trail intact: {report.intact} entries chained")


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    """Back up the database and every stored file into one new tar file OUT, with a manifest
    (SHA-256 and size of each file, database kind, migration, time). Safe while the service runs."""
    from app import backup as backups
    from app.core.storage import open_storage
    from app.core.types import utcnow

    config = settings()
    summary = backups.create(config.database_url, open_storage(config.storage_url), out, now=utcnow())
    click.echo(
        f"wrote {out}: the {backups.NAMES[summary.kind]} database at migration {summary.revision} and "
        f"{summary.evidence_files} evidence files, {summary.size:,} bytes"
    )

    async def record(session: AsyncSession) -> None:
        from app.audit import services as audit
        from app.audit.schemas import AuditAction, AuditObject
        from app.core.actor import CLI_ACTOR

        changes = {"out": str(out), "evidence_files": summary.evidence_files, "bytes": summary.size}
        audit.record(session, CLI_ACTOR, AuditAction.export, AuditObject.backup, summary.created_at, changes)

    run_in_session(record)


@cli.command()
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
def restore(source: Path, force: bool) -> None:
    """Restore a backup made by `dpa backup`: check every file against its manifest, put the
    evidence files in the store, then replace the database (an empty one, unless --force).
    Stop the server and the worker first."""
    from app import backup as backups
    from app.core.database import pending_migrations
    from app.core.storage import open_storage

    config = settings()
    summary = backups.restore(config.database_url, open_storage(config.storage_url), source, force=force)
    click.echo(
        f"restored {source} (made {summary.created_at}): the {backups.NAMES[summary.kind]} database at migration "
        f"{summary.revision} and {summary.evidence_files} evidence files"
    )
    if pending_migrations(config.database_url):
        click.echo("the database is at an older migration than this dpa: run `dpa db upgrade` before serving")
        return

    async def record(session: AsyncSession) -> None:
        from app.audit import services as audit
        from app.audit.schemas import AuditAction, AuditObject
        from app.core.actor import CLI_ACTOR

        changes = {"from": str(source), "made_at": summary.created_at, "evidence_files": summary.evidence_files}
        audit.record(session, CLI_ACTOR, AuditAction.restore, AuditObject.backup, summary.created_at, changes)

    run_in_session(record)


@cli.group()
def evidence() -> None:
    """Stored evidence and agreement files."""


@evidence.command("verify")
@click.option("--delete-orphans", is_flag=True, help="Delete stored files no row refers to (audited).")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    type=click.IntRange(1, 525_600),
    help="Minutes: a younger unreferenced file may be an upload still in flight, and is kept.",
)
def evidence_verify(delete_orphans: bool, older_than: int) -> None:
    """Re-hash every stored file; exit 1 if any no longer matches its SHA-256 or is missing.
    Also lists stored files no row refers to (a failed or killed upload's), and deletes them
    with --delete-orphans."""
    from datetime import timedelta

    from app.attestations.services import verify_evidence
    from app.core.storage import open_storage

    storage = open_storage(settings().storage_url)
    age = timedelta(minutes=older_than) if delete_orphans else None
    report = run_in_session(lambda session: verify_evidence(session, storage, delete_orphans_older_than=age))
    for name in report.altered:
        click.echo(f"altered\t{name}")
    for name in report.missing:
        click.echo(f"missing\t{name}")
    for name in report.unreferenced:
        click.echo(f"{'deleted' if name in report.deleted else 'unreferenced'}\t{name}")
    click.echo(
        f"checked {report.checked} stored files: {len(report.altered)} altered, {len(report.missing)} missing, "
        f"{len(report.unreferenced)} unreferenced ({len(report.deleted)} deleted)"
    )
    if report.altered or report.missing:
        raise click.exceptions.Exit(1)


@cli.group()
def demo() -> None:
    """Demo data: a car retailer and its vendors."""


@demo.command("load")
@click.option(
    "--reset",
    is_flag=True,
    help="Empty the database first, then build the demo again (refused if anyone but the demo's users has an account).",
)
def demo_load(reset: bool) -> None:
    """Load the demo data and its stories (idempotent: what exists stays) and print a fresh
    demo admin token as the last line; earlier demo tokens keep working until they expire
    (30 days). Dates are relative to today, so the stories hold on any day."""
    import time

    from app.core.storage import open_storage
    from app.demo import load
    from app.demo import reset as empty
    from app.models import metadata

    storage = open_storage(settings().storage_url)
    started = time.perf_counter()

    async def work(session: AsyncSession) -> tuple[list[str], str]:
        emptied = await empty(session, metadata().sorted_tables) if reset else []
        report, token = await load(session, storage=storage, base_url=settings().base_url)
        return emptied + report, token

    report, token = run_in_session(work)
    report.insert(-1, f"demo loaded in {time.perf_counter() - started:.1f} s")
    for line in report:
        click.echo(line)
    click.echo(token)


@cli.group()
def templates() -> None:
    """The agreement clause library and the questionnaires (contract_templates/)."""


@templates.command("list")
def templates_list() -> None:
    """Templates, versions, publication dates and clause counts."""
    from app.agreements.library import load

    library = load()
    for template in library.templates.values():
        for version in template.versions:
            published = version.published.isoformat() if version.published else "draft"
            click.echo(f"{template.id}\tv{version.version}\t{published}\t{len(version.clauses)} clauses")


@templates.command("check")
def templates_check() -> None:
    """Check placeholders, references and that no published version was edited."""
    from app.agreements.library import load
    from app.questionnaires import library as questionnaires

    library = load()
    forms = questionnaires.load()
    problems = library.problems() + forms.problems()
    if problems:
        raise CommandError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    click.echo(
        f"ok: {len(library.templates)} templates, {len(library.clauses)} clauses, "
        f"{len(library.requirements)} requirements, {len(forms.versions)} questionnaire versions"
    )


@templates.command("lock")
def templates_lock() -> None:
    """Record the fingerprint of newly published versions in published.lock (and the questionnaires' own)."""
    from app.agreements.library import load, write_lock
    from app.questionnaires import library as questionnaires

    added = write_lock(load())
    added |= {
        f"questionnaire {name}": value for name, value in questionnaires.write_lock(questionnaires.load()).items()
    }
    click.echo("\n".join(f"locked {name} {fingerprint}" for name, fingerprint in added.items()) or "nothing new")


@cli.group()
def agreements() -> None:
    """Agreements."""


@agreements.command("render")
@click.argument("agreement_id", type=click.UUID)
@click.option("--format", "fmt", required=True, type=click.Choice([fmt.value for fmt in DocumentFormat]))
@click.option(
    "--lang",
    default=Language.bilingual.value,
    show_default=True,
    type=click.Choice([lang.value for lang in Language]),
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="File to write.")
@click.option(
    "--annex/--no-annex",
    default=False,
    show_default=True,
    help="Append the internal requirements table (never in the copy the vendor signs).",
)
def agreements_render(agreement_id: Any, fmt: str, lang: str, out: str, annex: bool) -> None:
    """Render an agreement to a file (nothing is stored)."""
    from app.agreements import services
    from app.agreements.schemas import RenderRequest

    request = RenderRequest(format=DocumentFormat(fmt), lang=Language(lang), annex=annex)

    async def work(session: AsyncSession) -> bytes:
        return services.render(await services.get(session, agreement_id=agreement_id), request)

    data = run_in_session(work)
    with open(out, "wb") as file:
        file.write(data)
    click.echo(f"wrote {out} ({len(data):,} bytes)")


@cli.group()
def users() -> None:
    """Users and their API tokens."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="What the user may do.",
)
@click.option("--name", default="", help="Display name.")
def users_create(email: str, role: str, name: str) -> None:
    """Create a user; prints a one-time link to set the password (for the pages) and, as the
    last line, its API token (shown once)."""
    from app.accounts import services, signin
    from app.accounts.schemas import UserCreate
    from app.core.actor import CLI_ACTOR

    data = UserCreate.model_validate({"email": email, "role": role, "name": name})

    async def work(session: AsyncSession) -> str:
        user, token = await services.create(session, data=data, actor=CLI_ACTOR)
        click.echo(f"created {user.role} {user.email} ({user.id})")
        link = await signin.new_password_link(session, user=user, lifetime=signin.FIRST_LINK_LIFETIME)
        click.echo(
            f"set the password (once, within {signin.FIRST_LINK_LIFETIME.days} days): "
            f"{settings().base_url}/password/reset?token={link}"
        )
        return token

    click.echo(run_in_session(work))


@cli.group()
def vendors() -> None:
    """Vendors' API keys."""


@vendors.command("issue-key")
@click.argument("vendor_id", type=click.UUID)
@click.option("--name", default="vendor API", help="What the key is for.")
@click.option("--network", "networks", multiple=True, help="An IP address or network it works from (repeatable).")
def vendors_issue_key(vendor_id: Any, name: str, networks: tuple[str, ...]) -> None:
    """Issue a key for one vendor (valid one year); prints the key (shown once) as the last line."""
    from app.core.actor import CLI_ACTOR
    from app.vendors import services
    from app.vendors.schemas import VendorKeyCreate

    data = VendorKeyCreate.model_validate({"name": name, "allowed_networks": list(networks)})

    async def work(session: AsyncSession) -> str:
        key, row = await services.issue_key(session, vendor_id=vendor_id, data=data, actor=CLI_ACTOR)
        click.echo(f"issued key {row.hint} for vendor {vendor_id}, expires {row.expires_at:%Y-%m-%d}")
        return key

    click.echo(run_in_session(work))


@cli.group("audit-orders")
def audit_orders() -> None:
    """Compliance audits a regulator ordered (PIPL art. 64): each is owed by its deadline."""


@audit_orders.command("add")
@click.option("--ordered-on", required=True, help="The order's date, YYYY-MM-DD.")
@click.option("--authority", required=True, help="Who ordered it, e.g. 上海市互联网信息办公室.")
@click.option("--deadline", required=True, help="When the audit report is due, YYYY-MM-DD.")
@click.option("--reference", default="", help="The order's document number.")
def audit_orders_add(ordered_on: str, authority: str, deadline: str, reference: str) -> None:
    """Record an order; its obligation opens, due at the deadline."""
    from app.core.actor import CLI_ACTOR
    from app.handler import services
    from app.handler.schemas import AuditOrderCreate

    data = AuditOrderCreate.model_validate(
        {"ordered_on": ordered_on, "authority": authority, "deadline": deadline, "reference": reference}
    )

    async def work(session: AsyncSession) -> str:
        order = await services.create_audit_order(session, data=data, actor=CLI_ACTOR)
        return f"recorded order {order.id} from {order.authority}: the audit report is due {order.deadline}"

    click.echo(run_in_session(work))


@audit_orders.command("report")
@click.argument("order_id", type=click.UUID)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def audit_orders_report(order_id: Any, path: Path) -> None:
    """Record the audit report (PDF, PNG, JPEG or DOCX): it closes the order's obligation."""
    from app.core import uploads
    from app.core.actor import CLI_ACTOR
    from app.core.storage import open_storage
    from app.handler import services

    config = settings()
    checked = uploads.check_file("file", path.name, None, path.read_bytes(), max_bytes=config.upload_max_file_bytes)
    storage = open_storage(config.storage_url)

    async def work(session: AsyncSession) -> str:
        order = await services.attach_audit_report(
            session, order_id=order_id, file=checked, storage=storage, actor=CLI_ACTOR
        )
        return f"recorded the audit report {checked.filename} for order {order.id}"

    click.echo(run_in_session(work))


@audit_orders.command("list")
def audit_orders_list() -> None:
    """List orders: deadline, authority, whether the report is in, id."""
    from app.core.schemas import MAX_PAGE
    from app.handler import services

    async def work(session: AsyncSession) -> list[str]:
        rows, _ = await services.get_audit_orders(session, limit=MAX_PAGE)
        return [
            f"{row.deadline}\t{row.authority}\t{'report in' if row.report_sha256 else 'owed'}\t{row.id}" for row in rows
        ]

    for line in run_in_session(work):
        click.echo(line)


@users.command("list")
def users_list() -> None:
    """List users: e-mail, role, active, id."""
    from app.accounts import services
    from app.accounts.models import User
    from app.core.schemas import MAX_PAGE

    async def every_user(session: AsyncSession) -> list[User]:
        users: list[User] = []
        while True:
            where = services.UserFilter()
            rows, total = await services.get_all(session, where=where, limit=MAX_PAGE, offset=len(users))
            users += rows
            if not rows or len(users) >= total:
                return users

    for user in run_in_session(every_user):
        click.echo(f"{user.email}\t{user.role}\t{'active' if user.is_active else 'inactive'}\t{user.id}")


def _describe(exc: BaseException) -> str | None:
    """One line for an error the user can fix, or None for a bug."""
    from app.backup import BackupError
    from app.worker import WorkerError

    if isinstance(exc, WorkerError | BackupError):
        return str(exc)
    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, ConfigError | LibraryError):
        return str(exc)
    if isinstance(exc, HTTPException):  # a service's 400 with the field and the reason
        extra = exc.extra[0] if isinstance(exc.extra, list) and exc.extra else None
        return f"{extra['key']}: {extra['message']}" if isinstance(extra, dict) else exc.detail
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        return f"{field}: {first['msg'].removeprefix('Value error, ')}"
    if isinstance(exc, OperationalError | DBAPIError | OSError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot reach the database: {reason}"
    if isinstance(exc, click.ClickException):
        return exc.format_message()
    return None


def main() -> None:
    try:
        # Without standalone mode click returns, rather than raises, a command's Exit code.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        message = _describe(exc)
        if message is None:
            message = f"unexpected {type(exc).__name__}: {exc}"
        click.echo(f"dpa: error: {message}", err=True)
        sys.exit(2 if isinstance(exc, click.UsageError) else 1)
