"""HTTP content negotiation: pick the media type a client's Accept header prefers."""

from __future__ import annotations


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges with their q-values, best first (ties keep the header's order)."""
    ranges = []
    for i, part in enumerate((header or "*/*").split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for f in fields[1:]:
            name, _, value = f.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((i, media, q))
    ranges.sort(key=lambda r: (-r[2], -_specificity(r[1]), r[0]))
    return [(m, q) for _, m, q in ranges]


def _specificity(media: str) -> int:
    if media == "*/*":
        return 0
    return 1 if media.endswith("/*") else 2


def _matches(media_range: str, offer: str) -> bool:
    if media_range == "*/*":
        return True
    if media_range.endswith("/*"):
        return offer.split("/", 1)[0] == media_range[:-2]
    return media_range == offer


def choose(header: str | None, offers: list[str]) -> str | None:
    """The offer the client prefers most (offers are in the server's order of preference).

    None when the client accepts none of them.
    """
    for media, q in parse_accept(header):
        if q <= 0:
            continue
        for offer in offers:
            if _matches(media, offer) and not _refused(header, offer):
                return offer
    return None


def _refused(header: str | None, offer: str) -> bool:
    """True if the header names this exact type with q=0."""
    return any(m == offer and q <= 0 for m, q in parse_accept(header))
