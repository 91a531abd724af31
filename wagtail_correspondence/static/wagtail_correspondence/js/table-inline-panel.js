/*
 * Starts Wagtail's InlinePanel script on the tables of panels.py TableInlinePanel: adding,
 * deleting and ordering rows. Wagtail's own inline panels start it from an inline script; the
 * options travel here in a data attribute instead.
 */
(function () {
  'use strict';

  function start() {
    document.querySelectorAll('[data-table-inline-panel]').forEach(function (table) {
      if (table.tableInlinePanel) return;
      table.tableInlinePanel = new window.InlinePanel(JSON.parse(table.getAttribute('data-table-inline-panel')));
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
