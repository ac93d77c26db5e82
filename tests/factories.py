"""Valid request bodies, to be varied one field at a time by tests."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfWriter

from app.core.credit_code import check_character

_serial = iter(range(1, 10_000_000))


def pdf(title: str = "evidence", pages: int = 1) -> bytes:
    """A real PDF (A4, blank pages): uploads are parsed, not only sniffed. The title varies the bytes."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def credit_code() -> str:
    """A fresh, valid unified social credit code."""
    first17 = f"91310000MA{next(_serial):07d}"
    return first17 + check_character(first17)


def vendor_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name_zh": "上海测试数据服务有限公司",
        "legal_name_en": "Shanghai Test Data Services Co., Ltd.",
        "unified_social_credit_code": credit_code(),
        "address": "上海市徐汇区 1 号",
        "contacts": [{"name": "Test Contact", "email": "contact@vendor.example", "role": "sales"}],
        "certifications": [{"name": "ISO/IEC 27001", "number": "X-1", "valid_until": "2027-01-01"}],
    }
    body.update(overrides)
    return body


def engagement_body(vendor_id: str, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vendor_id": vendor_id,
        "name": "Customer hosting",
        "purpose": "Host the customer database.",
        "processing_methods": ["storage", "transmission"],
        "pi_categories": ["basic_profile", "contact_details"],
        "data_subjects": ["customers"],
        "individuals_count": 1000,
        "storage_locations": [{"country": "CN", "region": "CN-SH"}],
        "legal_basis": "contract",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
    }
    body.update(overrides)
    return body
