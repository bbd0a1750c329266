"""Steps the journeys share: signing in on the phone and at the desk."""
from __future__ import annotations

from playwright.sync_api import expect


def phone_login(page, name: str) -> None:
    """Open the mini-program and pick a demo resident by name (张伟, 李娜, 王芳...)."""
    page.goto("/miniapp/")
    expect(page.locator("#nav-title")).to_have_text("登录")
    page.locator(".login-choice", has_text=name).click()
    expect(page.locator(".hero-hello")).to_contain_text(f"{name}，您好")


def desk_login(page, *, username: str | None = None, password: str | None = None,
               committee: str | None = None) -> None:
    """Sign in to the desk console: staff by typing username and password, a committee
    member through the demo WeChat picker."""
    page.goto("/desk/")
    expect(page.locator("#top-title")).to_be_hidden()
    if committee:
        page.locator(".demo-chip", has_text=committee).click()
    else:
        password = password or username.rstrip("0123456789")
        # The form is ready once the demo accounts (loaded after it) are shown: typing
        # before that can land in a field the page is about to re-render.
        expect(page.locator(".demo-chip").first).to_be_visible()
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        expect(page.get_by_label("用户名")).to_have_value(username)
        expect(page.get_by_label("密码")).to_have_value(password)
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".side-user-name")).not_to_be_empty()
