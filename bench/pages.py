"""The pages, rendered server-side: median time and weight of each main page, against a bare
Litestar route rendering a Jinja2 template of similar size in the same run.

Two data sets in fresh SQLite files: the demo, then the demo with --vendors more vendors and
--engagements more engagements spread over them (one in ten a camera engagement, so findings and
obligations grow too). The extra rows are bulk-inserted as copies of one vendor and two
engagements made through the services, then the settle step derives every obligation and
finding once, as a calendar change does. Each page is fetched ROUNDS times in process through
Litestar (the session cookie and its database look-up included). Goal (issue 12): median
< 100 ms, weight < 200 kB without fonts. The ratio to the bare route is on the last lines.
Run: .venv/bin/python bench/pages.py [--vendors 1000 --engagements 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jinja2
from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient
from sqlalchemy import insert

from app.accounts import signin
from app.accounts.services import get_by_email
from app.core.actor import CLI_ACTOR
from app.core.changes import mark
from app.core.credit_code import check_character
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import Settings
from app.demo import load
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import EngagementCreate
from app.main import create_app
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.models import Vendor
from app.vendors.schemas import VendorCreate

ROUNDS = 7
ADMIN = "admin@xingchi-auto.example"
PASSWORD = "bench password 1"  # noqa: S105 - a throw-away database
PAGES = [
    "/dashboard",
    "/vendors",
    "/vendors?q=%E6%B5%8B%E8%AF%95",
    "/engagements",
    "/obligations?status=open",
    "/obligations/calendar",
    "/findings",
    "/review",
    "/agreements",
    "/engagements/new",
    "/audit",
    "/settings",
    "/exports",
    "/company",
    "/settings/company",
    "/settings/calendar",
    "/imports",
]


def credit_code(serial: int) -> str:
    first17 = f"91310000MB{serial:07d}"
    return first17 + check_character(first17)


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


async def seed(url: str, more_vendors: int, more_engagements: int) -> float:
    """The demo and the extra rows; answers the seconds the extra rows took (insert and derive)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            await load(session)
        async with create_sessionmaker(engine)() as session:
            user = await get_by_email(session, email=ADMIN)
            assert user is not None
            user.password_hash = signin.hash_password(PASSWORD)
            await settle(session)
        if not more_vendors:
            return 0.0
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session:
            # One vendor and two engagements through the services (their checks and derived
            # fields), then copies of their rows: a bulk insert, not 11,000 service calls.
            model = await vendors.create(
                session,
                data=VendorCreate(legal_name_zh="测试00000有限公司", unified_social_credit_code=credit_code(0)),
                actor=CLI_ACTOR,
            )
            shapes = []
            for camera in (True, False):
                body: dict[str, Any] = {
                    "vendor_id": model.id,
                    "name": f"Engagement model {camera}",
                    "purpose": "Host the customer database and its backups.",
                    "processing_methods": ["storage", "transmission"],
                    "pi_categories": ["facial_recognition"] if camera else ["contact_details"],
                    "data_subjects": ["customers"],
                    "individuals_count": 150_000 if camera else 1000,
                    "legal_basis": "consent",
                    "consent_obtained": True,
                }
                row = await engagements.create(session, data=EngagementCreate.model_validate(body), actor=CLI_ACTOR)
                await session.flush()
                shapes.append(_columns(row))
            await session.flush()
            vendor_shape = _columns(model)
            vendor_ids = [model.id] + [uuid.uuid4() for _ in range(more_vendors - 1)]
            await session.execute(
                insert(Vendor),
                [
                    {
                        **vendor_shape,
                        "id": vendor_id,
                        "legal_name_zh": f"测试{number:05d}有限公司",
                        "unified_social_credit_code": credit_code(number),
                    }
                    for number, vendor_id in enumerate(vendor_ids)
                    if number
                ],
            )
            await session.execute(
                insert(Engagement),
                [
                    {
                        **shapes[0 if number % 10 == 0 else 1],
                        "id": uuid.uuid4(),
                        "vendor_id": vendor_ids[number % len(vendor_ids)],
                        "name": f"Engagement {number:05d}",
                        "individuals_count": 150_000 if number % 10 == 0 else 1000 + number,
                    }
                    for number in range(2, more_engagements)
                ],
            )
            # Every obligation and finding derived once, as when the calendar changes.
            mark(session, "bench rows", calendar=True)
            await settle(session)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def measure(url: str, directory: Path) -> dict[str, tuple[float, int]]:
    settings = Settings(database_url=url, storage_url=f"file:{directory / 'evidence'}", secret_key="b" * 40)
    figures = {}
    with TestClient(app=create_app(settings)) as client:
        form = client.get("/sign-in").text
        token = re.search(r'name="_csrf" value="([0-9a-f]+)"', form)
        assert token
        client.post("/sign-in", data={"_csrf": token.group(1), "email": ADMIN, "password": PASSWORD})
        for path in PAGES:
            timings, size = [], 0
            for _ in range(ROUNDS):
                start = time.perf_counter()
                answer = client.get(path)
                timings.append(time.perf_counter() - start)
                assert answer.status_code == 200, (path, answer.status_code)
                size = len(answer.content)
            figures[path] = (statistics.median(timings) * 1000, size)
        assets = sum(len(client.get(asset).content) for asset in ("/static/style.css", "/static/pages.js"))
    figures["(style.css + pages.js)"] = (0.0, assets)
    return figures


BARE_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>bare</title></head><body>
<table><thead><tr><th>名称 Name</th><th>状态 Status</th><th>到期 Due</th></tr></thead><tbody>
{% for row in rows %}<tr><td><a href="/vendors/{{ row.id }}">{{ row.name }}</a></td><td>{{ row.status }}</td>
<td>{{ row.due }}</td></tr>{% endfor %}
</tbody></table></body></html>"""


def bare(size: int) -> tuple[float, int]:
    """The floor: Litestar rendering a Jinja2 table of about `size` bytes, nothing read from a database."""
    rows = [
        {
            "id": uuid.uuid4(),
            "name": f"上海测试{number}号有限公司 <&>",
            "status": "生效 active",
            "due": "2026年12月31日",
        }
        for number in range(max(1, size // 150))
    ]

    @get("/bare")
    async def page() -> Template:
        return Template(template_name="bare.html", context={"rows": rows})

    environment = jinja2.Environment(loader=jinja2.DictLoader({"bare.html": BARE_PAGE}), autoescape=True)
    app = Litestar(
        route_handlers=[page],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
    )
    timings = []
    with TestClient(app=app) as client:
        for _ in range(ROUNDS * 3):
            start = time.perf_counter()
            answer = client.get("/bare")
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000, len(answer.content)


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns the figures
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--engagements", type=int, default=10_000)
    options = parser.parse_args()
    results = {}
    for label, more, many in (
        ("demo", 0, 0),
        (f"+{options.vendors} vendors/{options.engagements} eng.", options.vendors, options.engagements),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            took = asyncio.run(seed(url, more, many))
            if more:
                print(f"seeded {more} vendors and {many} engagements in {took:.1f} s (bulk insert, one settle)")
            results[label] = measure(url, Path(tmp))
    labels = list(results)
    print(f"{'page':32} " + "  ".join(f"{label:>30}" for label in labels))
    for path in results[labels[0]]:
        cells = [f"{results[label][path][0]:8.1f} ms {results[label][path][1] / 1024:8.1f} kB" for label in labels]
        print(f"{path:32} " + "  ".join(f"{cell:>30}" for cell in cells))
    pages = [figure for figures in results.values() for path, figure in figures.items() if not path.startswith("(")]
    typical = int(statistics.median(size for _, size in pages))
    floor_ms, floor_size = bare(typical)
    worst = max(ms for ms, _ in pages)
    heaviest = max(size for _, size in pages) / 1024
    median_all = statistics.median(ms for ms, _ in pages)
    print(f"bare Litestar + Jinja2 page of {floor_size / 1024:.1f} kB: {floor_ms:.2f} ms median")
    print(f"slowest median {worst:.1f} ms (goal < 100 ms); heaviest page {heaviest:.1f} kB (goal < 200 kB)")
    print(f"ratio to the bare route: median page {median_all / floor_ms:.1f}x, slowest page {worst / floor_ms:.1f}x")


if __name__ == "__main__":
    main()
