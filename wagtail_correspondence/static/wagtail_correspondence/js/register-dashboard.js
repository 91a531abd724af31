/* The dashboard's “Incoming mail by department” chart, drawn with the vendored Chart.js from
   the data the panel writes with json_script. Each bar opens the register list of that
   department's entries of that week. When the dashboard has no counts kept for the user's
   scope, the panel's body comes from its own request (data-volumes-load), so that the page
   does not wait for the counting. */
(function () {
  'use strict';

  // Distinguishable colours (Okabe–Ito), repeated if there are more departments.
  const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#F0E442'];

  function draw(figure) {
    const source = document.getElementById('cc-volumes-data');
    if (!source || typeof window.Chart === 'undefined') { return; }
    const data = JSON.parse(source.textContent);
    const canvas = figure.querySelector('[data-chart-canvas]');
    const names = {};
    document.querySelectorAll('tr[data-department][data-department-name]').forEach(function (row) {
      names[row.dataset.department] = row.dataset.departmentName;
    });
    const datasets = data.datasets.map(function (set, index) {
      return {
        label: names[set.code] || set.code,
        data: set.data,
        links: set.links,
        backgroundColor: COLOURS[index % COLOURS.length],
        borderColor: COLOURS[index % COLOURS.length],
      };
    });
    const chart = new window.Chart(canvas, {
      type: 'bar',
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'nearest', intersect: true },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { footer: function () { return data.hint; } } },
        },
        scales: {
          x: { stacked: true, title: { display: true, text: data.x_title } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: data.y_title } },
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? 'pointer' : 'default';
        },
        onClick: function (event, elements) {
          if (!elements.length) { return; }
          const hit = elements[0];
          const link = datasets[hit.datasetIndex].links[hit.index];
          if (link) { window.location.assign(link); }
        },
      },
    });
    figure.chart = chart; // for tests and the console
  }

  function load(body) {
    const failed = function () {
      body.removeAttribute('aria-busy');
      const message = body.querySelector('[data-volumes-pending]');
      if (message) { message.textContent = body.dataset.volumesFailed; }
    };
    window.fetch(body.dataset.volumesLoad, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        body.innerHTML = html; // the panel's own template, rendered by the server (escaped there)
        body.removeAttribute('aria-busy');
        body.removeAttribute('data-volumes-load');
        body.querySelectorAll('[data-volumes-chart]').forEach(draw);
      })
      .catch(failed);
  }

  function init() {
    document.querySelectorAll('[data-volumes-chart]').forEach(draw);
    document.querySelectorAll('[data-volumes-load]').forEach(load);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
