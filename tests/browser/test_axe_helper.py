"""tests/browser/axe.py itself: it finds violations (so a clean page means something) and passes a
clean page."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser.axe import AXE_VERSION, assert_no_axe_violations
from browser.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_violations_fail_with_rule_and_element(page):
    page.set_content('<html lang="en"><head><title>t</title></head><body><main>'
                     '<button id="nameless"></button><p style="color:#aaa;background:#fff">faint</p></main></body></html>')
    with pytest.raises(AssertionError) as failed:
        assert_no_axe_violations(page, "a bad page")
    message = str(failed.value)
    assert f"axe-core {AXE_VERSION}" in message and "on a bad page" in message
    assert "button-name (critical)" in message and "#nameless" in message
    assert "color-contrast (serious)" in message


def test_clean_page_passes(page):
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>Fine</h1>'
                     '<button type="button">OK</button></main></body></html>')
    assert_no_axe_violations(page, "a clean page")
    # AAA contrast can be asked for: #595959 on white is 7.0:1, #767676 only 4.5:1
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>Grey</h1><p style="color:#767676">grey text</p>'
                     '</main></body></html>')
    assert_no_axe_violations(page, "AA only")
    with pytest.raises(AssertionError, match="color-contrast-enhanced"):
        assert_no_axe_violations(page, "AAA", rules={"color-contrast-enhanced": {"enabled": True}})
