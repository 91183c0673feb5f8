"""Opens and clicks: what a message carries to count them. Links to the web are rewritten to
pass through Rapport (a redirect whose token signs the address, so it leads nowhere else) and
an image one pixel wide is added; links to Rapport's own pages (unsubscribe, view) stay."""

from __future__ import annotations

import re
import uuid
from html import escape, unescape

from rapport.consent.links import EmailLinks

_LINK = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.IGNORECASE)
_WEB = ("http://", "https://")
# A transparent GIF, one pixel wide.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)


def tracked(
    html: str,
    links: EmailLinks,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    opens: bool,
    clicks: bool,
) -> str:
    """The HTML of one message with its links passing through Rapport (`clicks`) and the
    open pixel at the end of its body (`opens`)."""
    own = f"{links.public_url}/email/"
    if clicks:

        def through_rapport(match: re.Match[str]) -> str:
            url = unescape(match.group(2)).strip()
            if not url.lower().startswith(_WEB) or url.startswith(own):
                return match.group(0)
            redirect = links.clicked(tenant_id, message_id, url)
            return f"{match.group(1)}{escape(redirect)}{match.group(3)}"

        html = _LINK.sub(through_rapport, html)
    if opens:
        pixel = (
            f'<img src="{escape(links.opened(tenant_id, message_id))}" width="1" height="1" '
            'alt="" style="border:0;width:1px;height:1px">'
        )
        end = html.lower().rfind("</body>")
        html = html[:end] + pixel + html[end:] if end >= 0 else html + pixel
    return html
