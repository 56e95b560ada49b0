"""Showing user-typed text (film titles, room and member names) as text, never as markup.

Streamlit renders Markdown in ``st.markdown``, alerts and captions, so a title such as
``*batteries not included`` or a name like ``<b>Bob</b>`` must be escaped before display.
"""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


def md(text: object) -> str:
    """``text`` escaped for Markdown contexts (st.markdown, st.error, st.caption, labels)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def h(text: object) -> str:
    """``text`` escaped for HTML contexts (st.html, unsafe_allow_html, SVG)."""
    return html.escape(str(text), quote=True)
