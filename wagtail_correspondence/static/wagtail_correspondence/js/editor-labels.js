// Accessible names for the editor widgets Wagtail does not label itself (axe: "ARIA input
// fields must have an accessible name", "Form elements must have labels"):
// - each Draftail rich-text area (role=textbox) is named by its field's label;
// - Handsontable's hidden copy/paste buffer is a helper, not a field: hidden from assistive tech.
// Stream blocks are added while the author works, so new editors are labelled as they appear.
(function () {
  "use strict";

  function fieldLabel(element) {
    var field = element.closest("[data-field], .w-field, [data-contentpath]");
    while (field) {
      var label = field.querySelector("label[id], .w-field__label[id], legend[id]");
      if (label) return label;
      var text = field.querySelector("label, .w-field__label, legend");
      if (text) {
        text.id = text.id || "label-" + Math.random().toString(36).slice(2);
        return text;
      }
      field = field.parentElement && field.parentElement.closest("[data-field], .w-field, [data-contentpath]");
    }
    return null;
  }

  function labelEditors(root) {
    root.querySelectorAll(".public-DraftEditor-content[role=textbox]").forEach(function (editor) {
      if (editor.hasAttribute("aria-label") || editor.hasAttribute("aria-labelledby")) return;
      var label = fieldLabel(editor);
      if (label) {
        editor.setAttribute("aria-labelledby", label.id);
      } else {
        editor.setAttribute("aria-label", "Rich text");
      }
    });
    root.querySelectorAll("textarea.copyPaste:not([aria-hidden])").forEach(function (buffer) {
      buffer.setAttribute("aria-hidden", "true");
      buffer.setAttribute("aria-label", "Clipboard buffer");
    });
  }

  function start() {
    labelEditors(document);
    new MutationObserver(function () { labelEditors(document); })
      .observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
