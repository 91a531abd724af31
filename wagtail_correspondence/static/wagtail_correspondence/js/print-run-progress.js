/* Follows a print run while a worker merges its letters, then reloads the page for its files. */
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    const box = document.querySelector('[data-print-run-progress]');
    if (!box || box.dataset.active !== 'true') return;
    const bar = box.querySelector('progress');
    const text = box.querySelector('[data-progress-text]');
    const status = document.querySelector('[data-print-run-status]');
    function poll() {
      fetch(box.dataset.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.value = data.percent;
          text.textContent = data.merged + ' of ' + data.total + (data.total === 1 ? ' letter' : ' letters') +
            ' merged (' + data.percent + '%)';
          status.textContent = data.status_display;
          status.dataset.printRunStatus = data.status;
          if (data.status === 'queued' || data.status === 'running') {
            setTimeout(poll, 1000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    setTimeout(poll, 1000);
  });
})();
