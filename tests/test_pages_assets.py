"""The pages are plain and self-contained: nothing from outside the machine, nothing
the CSP would refuse, every module they import exists and exports what is imported,
and the phone's first screen stays small enough for a slow connection."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

MOCK = Path(__file__).resolve().parent.parent / "miniapp_mock"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an identifier, never fetched
TEXT_FILES = sorted(p for p in MOCK.rglob("*") if p.suffix in {".html", ".js", ".css", ".svg"})
JS_FILES = sorted(MOCK.rglob("*.js"))
HTML_FILES = sorted(MOCK.rglob("*.html"))
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\s+(?:\{([^}]*)\}|\*\s+as\s+\w+|[\w$]+)?\s*(?:from\s+)?"([^"]+)";', re.M)
PAGE_LOADER = re.compile(r'page\("([\w-]+)"\)')
EXPORTED = re.compile(r"^export\s+(?:async\s+)?(?:function\s*\*?|const|let|class)\s+([\w$]+)", re.M)
FIRST_SCREEN_BUDGET = 100 * 1024  # bytes before the phone shows its first page


def test_the_mock_has_both_apps():
    assert (MOCK / "miniapp" / "index.html").is_file()
    assert (MOCK / "desk" / "index.html").is_file()
    assert (MOCK / "shared" / "api.js").is_file()
    assert len(JS_FILES) > 20


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_no_outside_urls(path):
    text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
    found = re.findall(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", text, re.I)
    assert not found, f"{path.name} refers to {found}"
    assert "@import" not in text or path.suffix != ".css"


class _HtmlAudit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not attrs.get("src"):
                self.problems.append("inline <script>")
            self.in_script = True
        for name in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
        for name in ("href", "src"):
            if str(attrs.get(name, "")).startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append("inline script code")


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_html_has_nothing_the_csp_refuses(path):
    audit = _HtmlAudit()
    audit.feed(path.read_text(encoding="utf-8"))
    assert audit.problems == []


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_scripts_never_parse_text_as_html_or_code(path):
    """User text (descriptions, chat) is only ever set as text: no innerHTML and
    friends (XSS), no eval (the CSP refuses it anyway), no style="" strings."""
    text = path.read_text(encoding="utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "new Function", "setAttribute(\"style\"", "cssText"):
        assert banned not in text, f"{path.name} uses {banned}"


def _imports(path: Path):
    text = path.read_text(encoding="utf-8")
    for names, target in STATIC_IMPORT.findall(text):
        yield [n.split(" as ")[0].strip() for n in names.split(",") if n.strip()], target
    if path.name == "app.js":
        for name in PAGE_LOADER.findall(text):
            yield [], f"./pages/{name}.js"


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_every_import_resolves_to_an_export(path):
    """No build step checks this for us: a typo would only show in the browser."""
    for names, target in _imports(path):
        assert target.startswith("."), f"{path.name}: bare or absolute import {target!r}"
        module = (path.parent / target).resolve()
        assert module.is_file(), f"{path.name}: {target} does not exist"
        assert MOCK in module.parents, f"{path.name}: {target} leaves miniapp_mock"
        exported = set(EXPORTED.findall(module.read_text(encoding="utf-8")))
        missing = [n for n in names if n not in exported]
        assert not missing, f"{path.name} imports {missing} that {target} does not export"


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_no_import_is_left_unused(path):
    text = path.read_text(encoding="utf-8")
    for names, target in _imports(path):
        for name in names:
            uses = re.findall(rf"(?:(?<![\w$.])|(?<=\.\.\.)){re.escape(name)}(?![\w$])", text)
            assert len(uses) > 1, f"{path.name} imports {name} from {target} but never uses it"


def _closure(entry: Path, seen: set[Path]) -> set[Path]:
    if entry in seen:
        return seen
    seen.add(entry)
    for _, target in STATIC_IMPORT.findall(entry.read_text(encoding="utf-8")):
        _closure((entry.parent / target).resolve(), seen)
    return seen


def test_the_phones_first_screen_is_small():
    """What a cold start downloads before the login page shows: the HTML, both style
    sheets, the shell's module graph and the login page's."""
    app = MOCK / "miniapp"
    html = (app / "index.html").read_text(encoding="utf-8")
    modules = _closure(app / "app.js", set()) | _closure(app / "pages" / "login.js", set())
    for href in re.findall(r'<link rel="(?:stylesheet|modulepreload)" href="([^"]+)"', html):
        modules |= _closure((app / href).resolve(), set()) if href.endswith(".js") else {(app / href).resolve()}
    files = {app / "index.html"} | modules
    total = sum(f.stat().st_size for f in files)
    assert total < FIRST_SCREEN_BUDGET, f"{total} bytes in {len(files)} files"
    assert (MOCK / "shared" / "base.css") in files and (app / "style.css").resolve() in files
    # pages other than the first are loaded on demand, not up front
    assert not any(p.parent.name == "pages" and p.name != "login.js" for p in modules)


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: str(p.relative_to(MOCK)))
def test_every_file_the_html_names_exists(path):
    html = path.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r'(?:href|src)="([^"#][^"]*)"', html)]
    assert targets
    for target in targets:
        resolved = (path.parent / target).resolve()
        assert resolved.is_file() and MOCK in resolved.parents, f"{path.name}: {target}"
