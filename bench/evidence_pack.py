"""An evidence pack holding 1 GB of evidence, streamed: its peak memory and its time, against
a bare zipfile writing the same stored files in the same run.

Seeds a fresh SQLite file and a storage directory with 64 evidence files of 16 MB (random,
so incompressible) under 16 attestations of one vendor, then runs each side in a child
process of its own so that each peak (ru_maxrss) is its own:
- ours: pack.plan + pack.stream written to a file (what `dpa evidence-pack` does);
- bare: zipfile.ZipFile on a file, each stored file read and written, nothing else.
Target: peak memory under 200 MB. Prints the figures and the ratio on the last lines.
Run: .venv/bin/python bench/evidence_pack.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import insert

from app.attestations.models import Attestation, EvidenceFile
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.storage import LocalStorage
from app.engagements.models import Engagement
from app.vendors.models import Vendor

FILES = 64
SIZE = 16 * 1024 * 1024


async def seed(url: str, storage: LocalStorage) -> str:
    engine = create_engine(url)
    vendor_id, engagement_id = uuid.uuid4(), uuid.uuid4()
    async with create_sessionmaker(engine)() as session:
        await session.execute(insert(Vendor).values(id=vendor_id, legal_name_zh="基准测试有限公司", country="CN"))
        await session.execute(
            insert(Engagement).values(
                id=engagement_id,
                vendor_id=vendor_id,
                name="Bench",
                purpose="Bench",
                processing_methods=["storage"],
                pi_categories=["basic_profile"],
                data_subjects=["customers"],
                legal_basis="contract",
            )
        )
        for index in range(FILES):
            if index % 4 == 0:
                attestation_id = uuid.uuid4()
                await session.execute(
                    insert(Attestation).values(
                        id=attestation_id, vendor_id=vendor_id, engagement_id=engagement_id, kind="deletion", details={}
                    )
                )
            stored = storage.put(b"%PDF-1.7\n" + os.urandom(SIZE - 9))
            await session.execute(
                insert(EvidenceFile).values(
                    attestation_id=attestation_id,
                    sha256=stored.sha256,
                    size=stored.size,
                    content_type="application/pdf",
                    filename=f"evidence-{index:02d}.pdf",
                )
            )
        await session.commit()
    await engine.dispose()
    return str(vendor_id)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(side: str, url: str, root: str, vendor_id: str, out: str) -> None:
    from app.exports import pack

    storage = LocalStorage(Path(root))
    before = peak_mb()
    start = time.perf_counter()
    if side == "ours":

        async def plan() -> tuple[str, list[pack.Entry]]:
            engine = create_engine(url)
            async with create_sessionmaker(engine)() as session:
                found = await pack.plan(session, storage, uuid.UUID(vendor_id))
            await engine.dispose()
            return found

        title, entries = asyncio.run(plan())
        with open(out, "wb") as file:
            for chunk in pack.stream(title, entries):
                file.write(chunk)
    else:
        with zipfile.ZipFile(out, "w") as archive:
            for name in storage.names():
                archive.writestr(name, storage.get(name))
    print(f"{time.perf_counter() - start:.3f} {peak_mb():.1f} {before:.1f} {os.path.getsize(out)}")


def measure(side: str, url: str, root: Path, vendor_id: str, out: Path) -> tuple[float, float, float, int]:
    result = subprocess.run(  # noqa: S603 - this script, in a child process
        [sys.executable, __file__, "--child", side, url, str(root), vendor_id, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, peak, before, size = result.stdout.split()
    return float(elapsed), float(peak), float(before), int(size)


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent.parent) as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        root = Path(folder) / "evidence"
        upgrade(url)
        vendor_id = asyncio.run(seed(url, LocalStorage(root)))
        bare = measure("bare", url, root, vendor_id, Path(folder) / "bare.zip")
        ours = measure("ours", url, root, vendor_id, Path(folder) / "ours.zip")
    gib = FILES * SIZE / 1024**3
    print(f"evidence: {FILES} files of {SIZE // 1024**2} MB ({gib:.1f} GiB), one vendor")
    for label, (elapsed, peak, before, size) in (
        ("ours, plan and stream to a file:", ours),
        ("bare zipfile, same files:", bare),
    ):
        gigabytes = size / 1024**3
        print(f"{label:33} {elapsed:.1f} s, peak RSS {peak:.0f} MB (at start {before:.0f} MB), zip {gigabytes:.2f} GiB")
    print(f"ratio time ours / bare: {ours[0] / bare[0]:.2f}x; peak memory {ours[1]:.0f} MB (target < 200 MB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7])
    else:
        main()
