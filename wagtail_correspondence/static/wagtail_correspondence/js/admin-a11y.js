// Accessible names where Wagtail's admin widgets lack them (axe-core: "ARIA input fields must
// have an accessible name", "Form elements must have labels", "visible text must be part of the
// accessible name"), on every admin page:
// - Handsontable's hidden copy/paste buffer is a helper, not a field: hidden from assistive tech;
// - the minimap's list scrolls on long forms, so it must be reachable by keyboard;
// - the list filters' button shows the number of active filters, which its name must include;
// - the avatars of others editing the same item are buttons whose only text is a hidden tooltip
//   ("Rob Reviewer - Currently viewing"): that text becomes their name.
// Stream blocks are added while the author works, so new widgets are named as they appear.
(function () {
  "use strict";

  function nameEditorWidgets(root) {
    root.querySelectorAll("textarea.copyPaste:not([aria-hidden])").forEach(function (buffer) {
      buffer.setAttribute("aria-hidden", "true");
      buffer.setAttribute("aria-label", "Clipboard buffer");
    });
    root.querySelectorAll(".w-minimap__list:not([tabindex])").forEach(function (list) {
      list.setAttribute("tabindex", "0");
      list.setAttribute("aria-label", "Sections of this form");
    });
  }

  function nameFilterButtons(root) {
    root.querySelectorAll("button[aria-label] .w-drilldown__count").forEach(function (count) {
      var button = count.closest("button");
      var base = button.dataset.baseLabel || button.getAttribute("aria-label");
      button.dataset.baseLabel = base;
      var active = count.textContent.trim();
      var name = active ? base + ", " + active + " active" : base;
      if (button.getAttribute("aria-label") !== name) button.setAttribute("aria-label", name);
    });
  }

  function nameEditingSessions(root) {
    root.querySelectorAll("button.w-editing-sessions__session:not([aria-label])").forEach(function (button) {
      // Wagtail's tooltip controller moves the popup into its tippy instance once connected.
      var tooltip = button.querySelector(".w-editing-sessions__popup") ||
        (button._tippy && button._tippy.props && button._tippy.props.content);
      var text = tooltip ? (typeof tooltip === "string" ? tooltip : tooltip.textContent) : "";
      var name = text.replace(/\s+/g, " ").trim();
      if (name) button.setAttribute("aria-label", name);
    });
  }

  function start() {
    var fix = function () {
      nameEditorWidgets(document);
      nameFilterButtons(document);
      nameEditingSessions(document);
    };
    fix();
    new MutationObserver(fix).observe(document.body, { childList: true, subtree: true, characterData: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
