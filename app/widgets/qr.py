"""The room's invite link as a QR code, so phones in the same room join by pointing their camera.

Made on the server with segno (pure Python, no network) as an SVG ``data:`` URI shown in an
``<img>``: nothing loads from the internet, and a browser never runs scripts inside an image.
"""

from __future__ import annotations

from functools import lru_cache

import segno
import streamlit as st

from app.widgets.text import h

QR_SIZE_PX = 220


@lru_cache(maxsize=64)
def qr_data_uri(link: str) -> str:
    """``link`` as a QR code (error correction M: still reads when partly glared or covered)."""
    code = segno.make(link, error="m", micro=False)
    return code.svg_data_uri(scale=6, border=2, dark="#111111", light="#ffffff")


def qr_html(link: str, caption: str = "Scan to join the room") -> str:
    """An ``<img>`` of the QR code with the link as its text alternative; all text escaped."""
    return (
        '<figure class="mn-qr">'
        f'<img src="{qr_data_uri(link)}" width="{QR_SIZE_PX}" height="{QR_SIZE_PX}" '
        f'alt="QR code of {h(link)}"/>'
        f"<figcaption>{h(caption)}</figcaption></figure>"
    )


def show_qr(link: str, caption: str = "Scan to join the room") -> None:
    st.html(qr_html(link, caption))
