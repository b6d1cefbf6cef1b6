"""OIDC sign-in end to end: `streamlit run app.py` with an [auth] section, a real OpenID Connect provider on
loopback (oidc-provider-mock, started here), and Debian's headless chromium driven by Playwright."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_app
from kb import Settings
from kb.access.users import add_user
from kb.build import rebuild

from .conftest import need_browser

pytestmark = pytest.mark.browser

# The provider's predefined people: the lead has an e-mail claim (the app must name her by it, not by her
# subject); the contractor only a subject. Anyone else is typed in the provider's form, and the provider
# then gives them an e-mail claim equal to the subject they typed.
LEAD = ("u-lead", "lead@example.com")
CONTRACTOR = "contractor-7"
AGENT = "agent@example.com"
LOOPBACK = {"127.0.0.1", "localhost"}


need_browser("oidc_provider_mock")


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """An OpenID Connect provider on loopback, any client accepted (no registration); yields its base URL.
    Served on "localhost" while the app is on 127.0.0.1: two sites, so their cookies stay apart."""
    from oidc_provider_mock import User, run_server_in_thread

    people = [User(sub=LEAD[0], claims={"email": LEAD[1], "name": "Lead"}), User(sub=CONTRACTOR, claims={})]
    with run_server_in_thread(port=0, user_claims=people) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A built index of one short Spanish article, and an external editor account for the lead."""
    tmp_path = tmp_path_factory.mktemp("oidc")
    (tmp_path / "corpus").mkdir(exist_ok=True)
    (tmp_path / "corpus" / "a.txt").write_text(
        "---\nlang: es\n---\nLa experiencia de cliente es emoción.\n", encoding="utf-8"
    )
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings)
    add_user(settings, LEAD[1], "editor", None)
    return settings


@pytest.fixture(scope="module")
def app_env(settings: Settings, provider: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The app's environment: the index, and Streamlit secrets (outside the repository) naming the provider.
    Streamlit puts the port it serves on in place of "{port}" in redirect_uri."""
    secrets_file = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "cx-kb-tests"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    secrets_file.chmod(0o600)
    return {
        "KB_INDEX_DIR": str(settings.index_dir),
        "KB_CORPUS_DIR": str(settings.corpus_dir),
        "STREAMLIT_SECRETS_FILES": str(secrets_file),
    }


@pytest.fixture
def app_url(app_env: dict[str, str]) -> Iterator[str]:
    """The app with the default role for people without an account (KB_SIGNED_IN_ROLE unset: reader)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KB_SIGNED_IN_ROLE", raising=False)
        with running_app(app_env) as url:
            yield url


@pytest.fixture
def strict_app_url(app_env: dict[str, str]) -> Iterator[str]:
    """The app refusing people without an account (KB_SIGNED_IN_ROLE="")."""
    with running_app({**app_env, "KB_SIGNED_IN_ROLE": ""}) as url:
        yield url


def launch(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def new_page(browser: Any) -> Any:
    """An English page that reaches nothing beyond this machine (the provider's pages link a CDN's CSS)."""
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})

    def loopback_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    return context.new_page()


def sign_in(page: Any, provider: str, *, choose: str = "", typed: str = "") -> None:
    """From the app's sign-in button through the provider's authorization page and back to the app: the
    person is one of the provider's predefined people (`choose`, a button) or a subject `typed` in its form."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign in with your company account").click()
    page.wait_for_url(lambda url: url.startswith(f"{provider}/oauth2/authorize?"), timeout=60_000)
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    if choose:
        page.get_by_role("button", name=choose, exact=True).click()
    else:
        page.locator("input[name=sub]").fill(typed)
        page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(lambda url: urlsplit(url).hostname == "127.0.0.1", timeout=60_000)


def sign_out(page: Any, provider: str, button: Any) -> None:
    """Streamlit's logout goes through the provider's end-session page, then back to the app."""
    button.click()
    page.wait_for_url(lambda url: url.startswith(f"{provider}/oauth2/end_session?"), timeout=60_000)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(lambda url: urlsplit(url).hostname == "127.0.0.1", timeout=60_000)


def expect_signed_out(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Sign in with your company account")).to_be_visible(timeout=180_000)
    expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_sign_in_with_the_company_account(app_url: str, provider: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser)
        page.goto(app_url)
        expect_signed_out(page)
        sidebar = page.get_by_test_id("stSidebar")

        # the lead: named by her e-mail claim (her subject is another), with her external account's role
        sign_in(page, provider, choose=LEAD[0])
        expect(page.get_by_text(f"Signed in as {LEAD[1]} (editor).")).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
        expect(sidebar.get_by_text("Content gaps", exact=True)).to_be_visible()
        expect(sidebar.get_by_text("Admin", exact=True)).to_have_count(0)

        sign_out(page, provider, sidebar.get_by_role("button", name="Sign out"))
        expect_signed_out(page)

        # someone without an account: the default role, reader, and no editor's view
        sign_in(page, provider, typed=AGENT)
        expect(page.get_by_text(f"Signed in as {AGENT} (reader).")).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
        for view in ("Ask", "Library", "Principles"):
            expect(sidebar.get_by_text(view, exact=True)).to_be_visible()
        expect(sidebar.get_by_text("Content gaps", exact=True)).to_have_count(0)
        expect(sidebar.get_by_text("Admin", exact=True)).to_have_count(0)
        browser.close()


def test_people_without_an_account_are_refused_when_the_deployment_says_so(strict_app_url: str, provider: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser)
        page.goto(strict_app_url)
        expect_signed_out(page)

        # the contractor has no e-mail claim: named by the subject, and refused for having no account
        sign_in(page, provider, choose=CONTRACTOR)
        outcome = page.get_by_text("Not signed in:").or_(page.get_by_text("Signed in as"))
        expect(outcome.first).to_be_visible(timeout=120_000)
        assert f"Not signed in: {CONTRACTOR} has no account here" in outcome.first.inner_text()
        expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)

        # the refusal offers to sign out (to sign in as someone else); the lead's account still lets her in
        sign_out(page, provider, page.get_by_role("button", name="Sign out"))
        expect_signed_out(page)
        sign_in(page, provider, choose=LEAD[0])
        expect(page.get_by_text(f"Signed in as {LEAD[1]} (editor).")).to_be_visible(timeout=120_000)
        browser.close()
