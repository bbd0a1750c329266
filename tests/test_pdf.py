"""backend/pdf.py: Chinese text and figures come back out of the PDF as written
(the built-in CID font maps to Unicode), every page says "第 n 页 / 共 m 页" and the
time it was made in Beijing time, a long table repeats its header on each page, and
downloads carry an ASCII file name beside the Chinese one."""
from __future__ import annotations

import io
from datetime import datetime, timezone

from pypdf import PdfReader

from backend.pdf import Document, content_disposition


def _pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_chinese_text_and_figures_come_back_out():
    doc = Document("测试", generated_at=datetime(2026, 12, 3, 16, 30, tzinfo=timezone.utc))
    doc.title_block("维修资金表决结果公告", "幸福里小区")
    doc.paragraph("同意面积 1,234.56㎡，金额 ¥2,843,567.94，3栋2单元1502")
    doc.key_values([("链头哈希", "ab" * 32)], mono_keys=("链头哈希",))
    doc.boxes(["同意", "反对", "弃权"])
    doc.qr("https://wuye.example.com/miniapp/#/fund/7", caption="https://wuye.example.com/miniapp/#/fund/7")
    (page,) = _pages(doc.render())
    for text in ("维修资金表决结果公告", "幸福里小区", "1,234.56㎡", "¥2,843,567.94", "3栋2单元1502",
                 "ab" * 32, "同意", "反对", "弃权", "https://wuye.example.com/miniapp/#/fund/7"):
        assert text in page, text
    # 16:30 UTC is half past midnight the next day in Beijing
    assert "生成时间：2026-12-04 00:30:00（北京时间）" in page
    assert "第 1 页 / 共 1 页" in page


def test_a_long_table_repeats_its_header_and_every_page_is_numbered():
    doc = Document("房屋")
    doc.table(["房屋", "面积（㎡）", "表决方式"],
              [[f"1栋1单元{i:04d}", f"{i}.50", "线上已投"] for i in range(150)],
              align_right=(1,), wrap=False)
    pages = _pages(doc.render())
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert page.lstrip().startswith("房屋") and "表决方式" in page
        assert f"第 {number} 页 / 共 {len(pages)} 页" in page
    text = "".join(pages)
    assert all(f"1栋1单元{i:04d}" in text for i in range(150))


def test_a_download_names_itself_in_ascii_and_in_chinese():
    header = content_disposition("表决结果-12.pdf", "fund-result-12.pdf")
    assert header == ('attachment; filename="fund-result-12.pdf"; '
                      "filename*=UTF-8''%E8%A1%A8%E5%86%B3%E7%BB%93%E6%9E%9C-12.pdf")
    assert content_disposition("x", 'a"b;c.pdf').startswith('attachment; filename="a_b_c.pdf"')
