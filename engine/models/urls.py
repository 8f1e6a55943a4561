"""Server addresses as they may be written down: a host, or a URL without its credentials."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def host_of(url: str | None) -> str | None:
    """The host (and port) of a URL, never its credentials or path."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname + (f":{parts.port}" if parts.port else "")


def without_credentials(url: str | None) -> str | None:
    """A URL without user, password, query or fragment: safe to write down."""
    if not url:
        return None
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def split_urls(text: str) -> list[str]:
    """The addresses in a comma-separated list (``--base-url a,b`` or ``$OPENAI_BASE_URL``)."""
    return [url.strip() for url in text.split(",") if url.strip()]
