"""The HTML reports in a real browser: the graph, the matrix, filters, offline, hostile names,
phone width and print (issue 14)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mratrust.cli import main
from tests.cli.test_hostile_names import _write
from tests.conftest import NOW
from tests.pki.conftest import Pki

pytestmark = pytest.mark.browser

NOW_ARG = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
FAIL_RGB = "rgb(198, 40, 40)"
PASS_RGB = "rgb(46, 125, 50)"
Dir = Callable[[str], Path]


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Opened]]:
    """Open a file in a fresh page that fails every request but the file itself."""
    contexts: list[Any] = []

    def go(path: Path, *, width: int = 1280, height: int = 900, hash_: str = "") -> Opened:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        url = path.resolve().as_uri()
        opened = Opened(page)

        def route(r: Any) -> None:
            if r.request.url.split("#", 1)[0] == url:
                r.continue_()
            else:
                opened.requests.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
        page.goto(url + hash_)
        return opened

    yield go
    for ctx in contexts:
        ctx.close()


def _report(tmp_path: Path, inventory: Path, *argv: str, name: str = "report.html") -> Path:
    out = tmp_path / name
    code = main([*argv, str(inventory), "--format", "html", "-o", str(out), "--now", NOW_ARG])
    assert code in (0, 1)
    return out


@pytest.fixture(scope="module")
def reports(scenario_dir: Dir, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("html")
    out = {
        sid: _report(tmp, scenario_dir(sid) / "inventory.yaml", "audit", name=f"{sid}.html")
        for sid in ("B0", "F01", "F08")
    }
    out["upgrade"] = _report(
        tmp,
        scenario_dir("F01") / "inventory.yaml",
        "upgrade-check",
        "--to",
        "X14.0.2",
        name="F01-upgrade.html",
    )
    kit = tmp / "kit"
    assert main(["plan", str(scenario_dir("F03") / "inventory.yaml"), "--out", str(kit),
                 "--now", NOW_ARG]) == 0  # fmt: skip
    out["plan"] = kit / "steps.html"
    return out


def _clean(o: Opened) -> None:
    assert o.requests == [], f"the page asked the network for {o.requests}"
    assert o.errors == [], o.errors
    assert o.dialogs == []
    assert o.page.evaluate("document.documentElement.classList.contains('js')"), "script blocked"


def _overflow(o: Opened) -> int:
    return int(o.page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _bg(o: Opened, selector: str) -> str:
    return str(o.page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor"))


def _stroke(o: Opened, selector: str) -> str:
    return str(o.page.eval_on_selector(selector, "e => getComputedStyle(e).stroke"))


def _click_on_path(o: Opened, selector: str) -> None:
    """A real mouse click on the middle of a drawn arrow (not its bounding box's centre)."""
    xy = o.page.eval_on_selector(
        selector,
        """p => { p.scrollIntoView({block: 'center'});
                  const pt = p.getPointAtLength(p.getTotalLength() / 2);
                  const m = p.getScreenCTM();
                  return [pt.x * m.a + pt.y * m.c + m.e, pt.x * m.b + pt.y * m.d + m.f]; }""",
    )
    o.page.mouse.click(xy[0], xy[1])


def test_every_report_opens_offline_and_fits_a_phone(
    open_page: Callable[..., Opened], reports: dict[str, Path], hostile: Path, shots: Path
) -> None:
    for name, path in (*reports.items(), ("hostile", hostile)):
        o = open_page(path, width=390, height=844)
        _clean(o)
        csp = o.page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
        assert csp is not None and csp.startswith("default-src 'none';"), name
        srcs = o.page.evaluate(
            "[...document.querySelectorAll('[src],[href]:not(a),use,image')]"
            ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
        )
        assert srcs == [], f"{name} loads {srcs}"
        assert _overflow(o) <= 0, f"{name} is wider than a 390 px phone"
        if name == "F01":
            o.page.screenshot(path=str(shots / "F01-390.png"), full_page=True)
    wide = open_page(reports["F01"], width=1280, height=900)
    wide.page.screenshot(path=str(shots / "F01-1280.png"), full_page=True)
    assert (shots / "F01-390.png").stat().st_size > 10_000
    # The README's picture (docs/screenshot.sh copies it to docs/img): the header and the graph.
    readme = shots / "report-F01.png"
    wide.page.screenshot(path=str(readme), clip={"x": 0, "y": 0, "width": 1280, "height": 820})
    head = readme.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == (1280, 820)
    assert 20_000 < readme.stat().st_size <= 400_000


def test_an_external_resource_would_be_caught(
    open_page: Callable[..., Opened], reports: dict[str, Path], tmp_path: Path
) -> None:
    """The negative twin: the checks above see a blocked script and a fetched resource."""
    html = reports["B0"].read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.html"
    tampered.write_text(html.replace("</main>", "</main><script>alert(1)</script>"), "utf-8")
    o = open_page(tampered)
    assert o.dialogs == [] and any("Content Security Policy" in e for e in o.errors)
    no_csp = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    leaky = tmp_path / "leaky.html"
    leaky.write_text(no_csp.replace("</main>", '</main><img src="http://127.0.0.1:9/x.png">'))
    assert open_page(leaky).requests == ["http://127.0.0.1:9/x.png"]


def test_failing_arrow_is_drawn_in_the_fail_colour(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F08"])
    fails = o.page.locator("svg a.leg.st-fail")
    assert fails.count() == 2  # C2U-TRUST on 5061 to both CUCM nodes (the same-CN trap)
    assert "5061" in (fails.first.get_attribute("aria-label") or "")
    assert _stroke(o, "svg a.leg.st-fail .line") == FAIL_RGB
    assert _stroke(o, "svg a.leg.st-pass .line") == PASS_RGB
    clean = open_page(reports["B0"])
    assert clean.page.locator("svg a.leg").count() > 0
    assert clean.page.locator("svg a.leg.st-fail").count() == 0


def test_clicking_an_arrow_shows_its_findings(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F08"])
    href = o.page.get_attribute("svg a.leg.st-fail", "href")
    assert href is not None
    card = o.page.locator(href)
    assert not card.is_visible()
    _click_on_path(o, "svg a.leg.st-fail .line")
    assert o.page.evaluate("location.hash") == href
    assert card.is_visible()
    text = card.inner_text()
    assert "C2U-TRUST" in text and "What to do" in text and "5061" in text
    card.locator("summary").first.click()  # the chain
    assert "chain" in card.inner_text().lower()
    _clean(o)


def test_focusing_an_arrow_shows_its_findings(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F08"])
    href = o.page.get_attribute("svg a.leg.st-pass", "href")
    assert href is not None and not o.page.locator(href).is_visible()
    o.page.focus("svg a.leg.st-pass")
    assert o.page.locator(href).is_visible()
    assert o.page.evaluate("location.hash") == ""  # focus alone does not navigate
    o.page.focus("svg a.leg.st-fail")
    assert not o.page.locator(href).is_visible()  # one card at a time
    node = o.page.locator("svg a.node.st-fail").first
    ep = (node.get_attribute("href") or "")[1:]
    node.focus()
    card = o.page.locator(f"#card-{ep}")
    assert card.is_visible() and "C2U-" in card.inner_text()
    assert not o.page.locator(href).is_visible()
    node.click()
    group = o.page.locator(f"section.group:has(#{ep})")
    assert o.page.evaluate("location.hash") == f"#{ep}" and group.is_visible()
    name = (node.get_attribute("aria-label") or "").split(" (")[0]
    assert name and name in (o.page.text_content(f"section.group:has(#{ep}) h3") or "")


def test_without_script_the_arrow_link_still_shows_the_findings(
    browser: Any, reports: dict[str, Path]
) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(reports["F08"].resolve().as_uri())
        href = page.get_attribute("svg a.leg.st-fail", "href")
        assert href is not None and not page.locator(href).is_visible()
        page.goto(reports["F08"].resolve().as_uri() + href)
        assert page.locator(href).is_visible() and "C2U-TRUST" in page.locator(href).inner_text()
    finally:
        ctx.close()


def test_status_filter_hides_what_it_should(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F08"])
    visible = "e => e.filter(x => x.getClientRects().length > 0).length"
    o.page.click("details.passes summary >> nth=0")
    passes = o.page.eval_on_selector_all(".f.st-pass", visible)
    fails = o.page.eval_on_selector_all(".f.st-fail", visible)
    assert passes > 0 and fails == 6
    o.page.uncheck("#show-pass")
    assert o.page.eval_on_selector_all(".f.st-pass", visible) == 0
    assert o.page.eval_on_selector_all("svg a.leg.st-pass", visible) == 0
    assert o.page.eval_on_selector_all(".f.st-fail", visible) == fails
    assert o.page.eval_on_selector_all("svg a.leg.st-fail", visible) == 2
    o.page.check("#show-pass")
    o.page.uncheck("#show-fail")
    assert o.page.eval_on_selector_all(".f.st-fail", visible) == 0
    assert o.page.eval_on_selector_all(".f.st-pass", visible) == passes


def test_connection_filter_keeps_only_that_legs_findings(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F08"])
    leg = o.page.get_attribute("svg a.leg.st-fail", "data-leg")
    assert leg is not None
    shown = "e => e.filter(x => !x.closest('[hidden]')).length"
    before = o.page.eval_on_selector_all("article.f", shown)
    o.page.select_option("#legsel", leg)
    after = o.page.eval_on_selector_all("article.f", shown)
    assert 0 < after < before
    legs = o.page.eval_on_selector_all(
        "article.f", "e => e.filter(x => !x.closest('[hidden]')).map(x => x.dataset.legs)"
    )
    assert all(leg in str(x).split() for x in legs)
    assert o.page.locator(f"svg a.leg[data-leg='{leg}']").get_attribute("class") == "leg st-fail"
    o.page.select_option("#legsel", "")
    assert o.page.eval_on_selector_all("article.f", shown) == before


def test_upgrade_check_matrix_links_what_changes(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["upgrade"])
    head = o.page.inner_text("table.matrix thead")
    assert "CHANGE ON X14.0.2" in head.upper()
    new = o.page.locator("td.chg a.chg-new").first
    assert "U2C-TRUST" in new.inner_text()
    new.click()
    target = o.page.evaluate("location.hash")
    assert o.page.locator(f"article{target}").inner_text().count("U2C-TRUST") >= 1
    assert "new on X14.0.2" in o.page.locator(f"article{target}").inner_text()
    _clean(o)


def _version_cells(o: Opened, port: str) -> list[list[str]]:
    """Per matrix row whose connection goes to ``port``: the version columns' classes and text."""
    return list(
        o.page.eval_on_selector_all(
            "table.matrix tbody tr",
            f"""rows => rows.filter(r => r.querySelector('th').innerText.includes(':{port}'))
                .map(r => [...r.querySelectorAll('td.ver')]
                    .map(c => c.className + ' ' + c.textContent.trim()))""",
        )
    )


def test_upgrade_check_matrix_has_a_column_per_version(
    open_page: Callable[..., Opened], reports: dict[str, Path], shots: Path
) -> None:
    o = open_page(reports["upgrade"])
    _clean(o)
    head = [h.strip() for h in o.page.eval_on_selector_all(
        "table.matrix thead th.ver", "hs => hs.map(h => h.textContent)")]  # fmt: skip
    assert head == ["On X12.7 running", "On X14.0.2"]
    legs = _version_cells(o, "6972")
    assert legs and all(c == ["ver st-pass pass", "ver st-fail fail"] for c in legs), legs
    cell = o.page.locator("table.matrix tbody tr td.ver.st-fail a").first
    cell.scroll_into_view_if_needed()
    o.page.screenshot(path=str(shots / "F01-upgrade-1280.png"))
    assert _bg(o, "table.matrix td.ver.st-fail a") == FAIL_RGB
    cell.click()
    assert "U2C-TRUST" in o.page.locator(f"article{o.page.evaluate('location.hash')}").inner_text()
    # 8443 (Expressway-C to CUCM's Tomcat) breaks on neither version.
    same = _version_cells(o, "8443")
    assert same and all(a == b and "fail" not in a for a, b in same), same


def test_audit_matrix_has_no_version_columns(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["F01"])
    _clean(o)
    assert o.page.locator("table.matrix tbody tr").count() > 0
    assert o.page.locator("table.matrix th.ver, table.matrix td.ver").count() == 0
    assert "CHANGE ON" not in o.page.inner_text("table.matrix thead").upper()


def test_plan_steps_html_marks_what_the_kit_fixes(
    open_page: Callable[..., Opened], reports: dict[str, Path]
) -> None:
    o = open_page(reports["plan"])
    _clean(o)
    marked = o.page.locator("svg a.leg.marked")
    assert marked.count() == 2 and o.page.locator("svg a.leg.st-fail:not(.marked)").count() == 0
    assert "6972" in (marked.first.get_attribute("aria-label") or "")
    assert o.page.locator("svg a.leg.st-pass.marked").count() == 0
    boxes = o.page.locator("ol.kit input[type=checkbox]")
    assert boxes.count() == 4  # three steps and the check afterwards
    boxes.first.check()
    assert "CallManager-trust" in o.page.inner_text("ol.kit > li >> nth=0")


@pytest.fixture(scope="module")
def hostile(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    inv = _write(
        tmp,
        pki,
        issuer_cn='EVIL<script>alert(1)</script>"onerror=alert(2) \x1b[2J',
        leaf_cn="node<img src=x onerror=alert(3)>",
        san='x<svg onload=alert(4)>"javascript:alert(5)\x07.example.com',
    )
    return _report(tmp, inv, "audit")


def test_hostile_certificate_names_run_nothing_and_show_literally(
    open_page: Callable[..., Opened], hostile: Path
) -> None:
    o = open_page(hostile)
    _clean(o)
    assert o.page.evaluate("document.scripts.length") == 1  # the page's own
    assert o.page.evaluate("document.querySelectorAll('img,iframe,object,embed').length") == 0
    assert o.page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
        ".some(a => a.name.startsWith('on'))).length"
    ) == 0  # fmt: skip
    hrefs = o.page.eval_on_selector_all("a[href]", "e => e.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("#", "https://", "http://")) for h in hrefs), hrefs
    for details in o.page.locator("details").all():
        details.evaluate("d => d.open = true")
    text = o.page.inner_text("body")
    assert 'EVIL<script>alert(1)</script>"onerror=alert(2) \\x1b[2J' in text
    assert 'x<svg onload=alert(4)>"javascript:alert(5)\\x07.example.com' in text


def test_the_hostile_check_would_see_an_injection(
    open_page: Callable[..., Opened], hostile: Path, tmp_path: Path
) -> None:
    """The negative twin: the same page with the markup unescaped (and no CSP) runs it."""
    html = hostile.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    raw = tmp_path / "raw.html"
    raw.write_text(
        html.replace("&lt;img src=x onerror=alert(3)&gt;", "<img src=x onerror=alert(3)>")
    )
    o = open_page(raw)
    o.page.wait_for_timeout(200)
    assert o.dialogs and set(o.dialogs) == {"3"}


def test_the_overflow_check_would_see_a_wide_page(
    open_page: Callable[..., Opened], reports: dict[str, Path], tmp_path: Path
) -> None:
    wide = tmp_path / "wide.html"
    html = reports["B0"].read_text(encoding="utf-8")
    wide.write_text(html.replace("</main>", f"<pre>{'x' * 300}</pre></main>"), "utf-8")
    assert _overflow(open_page(wide, width=390)) > 0


def test_prints_on_a4_without_cut_tables(
    open_page: Callable[..., Opened], reports: dict[str, Path], shots: Path
) -> None:
    o = open_page(reports["F08"], width=794)
    o.page.emulate_media(media="print")
    # A4 less the page margins at 96 dpi: (210 - 2 * 12) mm
    o.page.set_viewport_size({"width": round(186 / 25.4 * 96), "height": 1000})
    wrap = o.page.eval_on_selector(".tablewrap", "w => [w.scrollWidth, w.clientWidth]")
    assert wrap[0] <= wrap[1], "the trust matrix is wider than an A4 page"
    assert _overflow(o) <= 0
    assert not o.page.locator("#show-fail").is_visible()  # no controls on paper
    assert "fail 6" in " ".join(o.page.inner_text(".filters").split())  # but the counts
    pdf = shots / "F08.pdf"
    o.page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    assert (
        data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type/Page") >= 1
    )
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "2",
                str(pdf),
                str(shots / "F08-print"),
            ],
            check=True,
            timeout=60,
        )
        assert list(shots.glob("F08-print*.png"))
