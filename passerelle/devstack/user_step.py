"""The user's half of the device flow, scripted: what a person does in the browser.

A cookie-keeping HTTP client opens `verification_uri_complete` and submits each page's form as the
person would: the code (already filled in), its confirmation, the login, the consent. It stops on
the provider's success page. The pages are oidc-provider's own (passerelle/devstack/oidc/provider.mjs): its
device pages and its development login, which takes any password; no browser is needed because
none of them needs JavaScript to submit (the auto-submitting page also has a plain form).
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

MAX_PAGES = 10  # the flow is five pages; more means a loop


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """Collects each form's action and the names and values of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.title = ""
        self._in_form = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
            self._in_form = True
        elif tag == "input" and self._in_form and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


class UserStepError(AssertionError):
    pass


def complete_device_login(
    verification_uri_complete: str,
    login: str,
    password: str = "any",  # noqa: S107 - any is accepted
    abort: bool = False,
) -> str:
    """Sign in as `login` and approve the device (or refuse it, on its confirmation page);
    return the final page's title."""
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        response = browser.get(verification_uri_complete)
        for _ in range(MAX_PAGES):
            response.raise_for_status()
            page = _Forms()
            page.feed(response.text)
            if "Success" in page.title:
                return page.title.strip()
            if not page.forms:
                raise UserStepError(f"stuck on a page without a form: {page.title!r}\n{response.text[:500]}")
            form = page.forms[0]
            if "login" in form.fields or "password" in form.fields:
                form.fields.update(login=login, password=password)
            if "user_code" in form.fields and "xsrf" not in form.fields:
                raise UserStepError("the code page has no xsrf field: its cookie was lost")
            if abort and form.fields.pop("confirm", None) is not None:
                # The page's "[ Abort ]" button: the same form, with abort instead of confirm.
                form.fields["abort"] = "yes"
                response = browser.post(urljoin(str(response.url), form.action), data=form.fields)
                titled = _Forms()
                titled.feed(response.text)
                return titled.title.strip()
            response = browser.post(urljoin(str(response.url), form.action), data=form.fields)
        raise UserStepError(f"no success page after {MAX_PAGES} pages")
