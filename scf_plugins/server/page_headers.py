"""The security headers of the pages ``scf serve`` shows residents (the unsubscribe page, a
report's page): nothing cached, nothing loaded from elsewhere but what the page names, no
script, no framing, no Referer (an unsubscribe link carries its token), no type sniffing.

Each page's style is inline and allowed by its hash alone, so the policy needs no
``'unsafe-inline'``."""

from __future__ import annotations

import base64
import hashlib


def strict(style: str, *, forms: bool = False, images: bool = False) -> dict[str, str]:
    """The headers of a page whose only style is ``style``; ``forms``: it posts forms to
    itself; ``images``: it shows images from this server."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = [
        "default-src 'none'",
        f"style-src 'sha256-{digest}'",
        *(["img-src 'self'"] if images else []),
        "form-action 'self'" if forms else "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "; ".join(policy),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
