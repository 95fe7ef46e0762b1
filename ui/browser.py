"""Small things only the browser can do, as constant scripts run in the page (``st.html`` with
JavaScript): copy an answer in one click, close the sidebar drawer on a phone after a pick.

The scripts are constants; the only value put into the page is the text to copy, HTML-escaped into a
``data-`` attribute, never into script code.
"""

from __future__ import annotations

import html

import streamlit as st

# One delegated listener for every copy button of the page (installed once).
_COPY_SCRIPT = """<script>
(() => {
  if (window.jikjiCopyInstalled) return;
  window.jikjiCopyInstalled = true;
  const fallback = (text) => {
    const area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed";
    area.style.opacity = "0"; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
  };
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("button.jikji-copy");
    if (!button) return;
    const text = button.getAttribute("data-copy") || "";
    try {
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
      else fallback(text);
    } catch (error) { fallback(text); }
    const label = button.querySelector(".jikji-copy-label");
    const before = label.textContent;
    label.textContent = button.getAttribute("data-done") || before;
    button.setAttribute("aria-live", "polite");
    setTimeout(() => { label.textContent = before; }, 2000);
  });
})();
</script>"""

_COPY_STYLE = """<style>
button.jikji-copy {display: inline-flex; align-items: center; gap: 0.35rem; min-height: 2.5rem;
  padding: 0.25rem 0.75rem; border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem;
  background: transparent; color: inherit; font: inherit; cursor: pointer;}
button.jikji-copy:hover {border-color: #c2410c; color: #c2410c;}
button.jikji-copy:focus-visible {outline: 2px solid #1d4ed8; outline-offset: 2px;}
</style>"""

_CLOSE_DRAWER_SCRIPT = """<script>
(() => {
  if (window.innerWidth >= 768) return;  // Streamlit's sidebar is an overlay drawer below this width
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (!sidebar || sidebar.getAttribute("aria-expanded") === "false") return;
  const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button')
    || sidebar.querySelector('button[kind="headerNoPadding"]');
  if (close) close.click();
})();
</script>"""


def copy_button(text: str, label: str, done: str) -> None:
    """A button that copies ``text`` to the clipboard in one click (then says ``done`` for 2 s)."""
    st.html(
        _COPY_STYLE + f'<button type="button" class="jikji-copy" data-copy="{html.escape(text, quote=True)}" '
        f'data-done="{html.escape(done, quote=True)}">'
        f'<span class="jikji-copy-label">{html.escape(label)}</span></button>' + _COPY_SCRIPT,
        unsafe_allow_javascript=True,
        width="content",
    )


def close_drawer() -> None:
    """Close the sidebar when it is a drawer over the page (a phone), e.g. after picking a conversation."""
    st.html(_CLOSE_DRAWER_SCRIPT, unsafe_allow_javascript=True, width="content")
