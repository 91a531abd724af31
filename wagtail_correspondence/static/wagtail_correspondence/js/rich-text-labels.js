/*
 * Gives each rich-text editor of the admin's forms an accessible name. Draftail's editable
 * area is a textbox with no name of its own (axe: aria-input-field-name); it is named here by
 * the label of its field, or by the heading of its StreamField block ("Rich text").
 */
(function () {
  'use strict';

  var counter = 0;

  function idOf(node) {
    if (!node.id) {
      counter += 1;
      node.id = 'rich-text-label-' + counter;
    }
    return node.id;
  }

  function labelFor(editable) {
    // Draftail keeps the field's value in a hidden input beside its editor: the field's label
    // points at that input.
    var wrapper = editable.closest('[data-draftail-editor-wrapper]');
    var input = wrapper && wrapper.parentNode.querySelector(':scope > input[type="hidden"]');
    var label = input && input.id && document.querySelector('label[for="' + input.id + '"]');
    if (label) return idOf(label);
    // A rich-text block of a StreamField has no label of its own: its block's heading names it.
    var block = editable.closest('section[aria-labelledby]');
    return block ? block.getAttribute('aria-labelledby') : null;
  }

  function name(root) {
    root.querySelectorAll('[data-draftail-editor] [contenteditable="true"][role="textbox"]').forEach(function (editable) {
      if (editable.hasAttribute('aria-label') || editable.hasAttribute('aria-labelledby')) return;
      var label = labelFor(editable);
      if (label) editable.setAttribute('aria-labelledby', label);
    });
  }

  function start() {
    name(document);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) {
          if (node.nodeType === 1) name(node.parentElement || node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
