"""monitor: poll regional news outlets, extract articles with attribution, deduplicate, store, alert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Article", "__version__", "extract_article"]

if TYPE_CHECKING:
    from monitor.article import Article
    from monitor.extract import extract_article


def __getattr__(name: str) -> Any:
    """Import the extractor lazily so `import monitor` stays cheap for the CLI and Scrapy settings."""
    if name == "extract_article":
        from monitor.extract import extract_article

        return extract_article
    if name == "Article":
        from monitor.article import Article

        return Article
    raise AttributeError(name)
