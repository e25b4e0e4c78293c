"""The portal's pages: Jinja2 templates (autoescaped) rendered in the partner's language."""

from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from passerelle.portal.texts import STAGES, texts
from schemas import CollaborationStatus


class Refusal(Exception):
    """Stop and show a refusal page."""

    def __init__(self, code: str, status: int, language: str, **fields: Any) -> None:
        super().__init__(code)
        self.code, self.status, self.language, self.fields = code, status, language, fields


class Pages:
    """Renders the templates of `passerelle/portal/templates/`."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("passerelle.portal", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(self, template: str, language: str, code: int = 200, **values: Any) -> web.Response:
        """Render a page of the portal in `language`."""
        context = {"lang": language, "t": texts(language), "stages": STAGES[language], "programme": ""}
        body = self._env.get_template(template).render({**context, **values})
        return web.Response(text=body, status=code, content_type="text/html", charset="utf-8")

    def refusal(self, refusal: Refusal, status: CollaborationStatus | None, link_days: float) -> web.Response:
        """Render the page that says why nothing was recorded, in the partner's language."""
        t = texts(refusal.language)
        fields = {"days": f"{link_days:g}", **refusal.fields}
        return self.page(
            "refused.html.j2",
            refusal.language,
            refusal.status,
            heading=t[f"refused.{refusal.code}"],
            why=t[f"refused.{refusal.code}.why"].format(**fields),
            why_code=refusal.code,
            status=status,
            programme=status.programme if status else "",
        )
