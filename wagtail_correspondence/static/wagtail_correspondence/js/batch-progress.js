/* Follows a batch while it is checked or run, then reloads the page for the final report. */
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    const box = document.querySelector('[data-batch-progress]');
    if (!box || box.dataset.active !== 'true') return;
    const bar = box.querySelector('progress');
    const text = box.querySelector('[data-progress-text]');
    const status = document.querySelector('[data-batch-status]');
    function poll() {
      fetch(box.dataset.url, { credentials: 'same-origin' })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.value = data.percent;
          // The server words the progress and the worker's state (in the user's language).
          text.textContent = data.text;
          status.textContent = data.status_display;
          const worker = document.querySelector('[data-batch-worker]');
          if (worker && data.worker_text) worker.textContent = data.worker_text;
          if (data.status === 'checking' || data.status === 'running') {
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
