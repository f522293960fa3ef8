"""Article extraction: `extract_article(html, url)` → `monitor.article.Article`.

Modules: `core` (the pipeline), `charset` (bytes → text), `meta` (meta tags, JSON-LD, canonical URL, tags),
`title`, `body` (standfirst, notes, navigation lines), `pagetype` (is_article), `language`, `overrides`
(per-outlet selectors); `dates`, `authors` and `attribution` (bylines, wire agencies, translators).
"""

from __future__ import annotations

from monitor.extract.core import extract_article
from monitor.extract.overrides import ExtractOverrides

__all__ = ["ExtractOverrides", "extract_article"]
