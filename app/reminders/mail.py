"""Digest e-mails: rendered from templates (HTML autoescaped, plus plain text), with an
.ics of the deadlines, delivered over SMTP or, without SMTP_URL, written as .eml files."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import aiosmtplib
import icalendar
import jinja2

from app.core.settings import SmtpSettings

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Item:
    """One obligation as a digest lists it."""

    obligation_id: str
    what_zh: str
    what_en: str
    vendor: str
    engagement: str
    due_on: date
    days_left: int  # negative when overdue
    provisional: bool
    rule_id: str
    article: str
    link: str  # the API
    refused: str = ""  # why the vendor's last attestation for it was refused
    page: str = ""  # its page (a path the web pages serve)
    closes_zh: str = ""  # what closes it
    closes_en: str = ""
    note_zh: str = ""  # why this recipient sees it: an escalation of the owner's item, say
    note_en: str = ""

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def when_zh(self) -> str:
        if self.days_left > 0:
            return f"还有 {self.days_left} 天"
        return "今天到期" if self.days_left == 0 else f"已逾期 {-self.days_left} 天"

    @property
    def when_en(self) -> str:
        if self.days_left > 0:
            return f"due in {self.days_left} day{'s' * (self.days_left != 1)}"
        return "due today" if self.days_left == 0 else f"{-self.days_left} day{'s' * (self.days_left != -1)} overdue"


def subject(items: list[Item]) -> str:
    late = sum(item.overdue for item in items)
    text = f"[dpa] {len(items)} 项合规事项待处理 / {len(items)} compliance item{'s' * (len(items) != 1)} due"
    return text + (f" (其中 {late} 项已逾期 / {late} overdue)" if late else "")


def calendar(items: list[Item], stamp: datetime) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//dpa//deadlines//ZH-EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    for item in items:
        event = icalendar.Event()
        event.add("uid", f"{item.obligation_id}@dpa")
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due_on)
        event.add("dtend", item.due_on + timedelta(days=1))
        event.add("summary", f"{item.what_zh} / {item.what_en}")
        event.add(
            "description",
            f"{item.vendor} · {item.engagement}\n{item.closes_zh}\n{item.closes_en}\n"
            f"{item.rule_id}, {item.article}\n{item.page or item.link}",
        )
        event.add("url", item.page or item.link)
        # A reminder on the calendar too: 09:00 the day before an all-day deadline.
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(hours=-15))
        alarm.add("description", f"明天到期 Due tomorrow: {item.what_zh} / {item.what_en}")
        event.add_component(alarm)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


@dataclass(frozen=True)
class Footer:
    """Who sends the digest, and why this person receives it."""

    company_zh: str = ""
    company_en: str = ""
    address: str = ""
    reasons_zh: tuple[str, ...] = ()
    reasons_en: tuple[str, ...] = ()


def sender_for(mail_from: str, company: str) -> str:
    """MAIL_FROM as set; its default name (dpa, or none) becomes the company's."""
    name, address = parseaddr(mail_from)
    if company and name.strip().lower() in ("", "dpa"):
        return formataddr((f"{company} 个人信息保护", address))
    return mail_from


def compose(
    *,
    sender: str,
    recipient: str,
    items: list[Item],
    message_id: str,
    now: datetime,
    worker: str,
    reply_to: str | None = None,
    footer: Footer | None = None,
) -> EmailMessage:
    context = {
        "subject": subject(items),
        "heading_zh": f"以下 {len(items)} 项个人信息委托处理合规事项需要您处理：",
        "heading_en": f"These {len(items)} entrusted-processing compliance items need your attention:",
        "items": items,
        "footer": footer or Footer(),
        "reply_to": reply_to or "",
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = context["subject"]
    message["Date"] = format_datetime(now)
    # Stable across retries: a message delivered twice after a crash can be recognised.
    message["Message-ID"] = message_id
    message["X-DPA-Worker"] = worker
    message.set_content(TEMPLATES.get_template("digest.txt").render(context))
    message.add_alternative(TEMPLATES.get_template("digest.html").render(context), subtype="html")
    message.add_attachment(
        calendar(items, now),
        maintype="text",
        subtype="calendar",
        filename="deadlines.ics",
        params={"method": "PUBLISH", "charset": "utf-8"},  # iCalendar text is UTF-8; say so for mail readers
    )
    return message


def compose_plain(
    *, sender: str, recipient: str, subject: str, body: str, message_id: str, now: datetime
) -> EmailMessage:
    """A plain-text message of its own (a password link)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


def message_id_for(key: str, sender: str) -> str:
    """The same for every attempt at one digest, so a copy delivered twice is recognisable."""
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "dpa.local"
    return f"<{key}@{domain}>"


class DeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class SmtpTransport:
    """SMTP with STARTTLS when the server offers it (smtp://), or implicit TLS (smtps://)."""

    def __init__(self, smtp: SmtpSettings, timeout: float = 30) -> None:
        self.smtp = smtp
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.smtp.host,
                port=self.smtp.port,
                username=self.smtp.username,
                password=self.smtp.password,
                use_tls=self.smtp.implicit_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise DeliveryError(f"recipient refused: {error}", permanent=all(code >= 500 for code in codes)) from None
        except aiosmtplib.SMTPResponseException as error:
            # 5xx: the server will never take it; 4xx: try again later.
            raise DeliveryError(f"{error.code} {error.message}", permanent=error.code >= 500) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from None


class DirectoryTransport:
    """The embedded default: each message as an .eml file a person can open (var/outbox/)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _write(self, message: EmailMessage) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        with os.fdopen(handle, "wb") as file:
            file.write(message.as_bytes())
        os.replace(temporary, self.root / f"{stamp}-{name}.eml")

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as error:
            raise DeliveryError(f"cannot write the outbox: {error}", permanent=False) from None


class CollectingTransport:
    """For --dry-run: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)
