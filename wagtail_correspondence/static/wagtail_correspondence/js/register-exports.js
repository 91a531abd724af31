/* Follows the exports a worker is writing on the Exports page, then reloads it for their files. */
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    const table = document.querySelector('[data-register-exports]');
    if (!table || table.dataset.active !== 'true') return;
    function show(row, data) {
      const status = row.querySelector('[data-export-status]');
      const text = row.querySelector('[data-export-text]');
      const bar = row.querySelector('progress');
      status.textContent = data.status_display;
      if (data.status === 'running' && text) text.textContent = data.text;
      if (bar && data.percent !== null) {
        bar.value = data.percent;
      } else if (bar) {
        bar.removeAttribute('value');  // indeterminate until the list is counted
      }
    }
    function poll() {
      fetch(table.dataset.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          let changed = false;
          let active = false;
          data.exports.forEach(function (item) {
            const row = table.querySelector('[data-export="' + item.id + '"]');
            if (!row) return;
            if (row.dataset.status !== item.status) changed = true;
            active = active || item.active;
            show(row, item);
          });
          if (changed) {
            window.location.reload();  // a new status: the page shows its file, error or progress bar
          } else if (active) {
            setTimeout(poll, 2000);
          }
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 2000);
  });
})();
