/* The letter builder: customer search, live preview as fields change, preview tabs.
 * Everything is rendered on the server; this only posts the form and shows the answer. */
(function () {
  'use strict';

  function debounce(fn, wait) {
    let timer;
    return function () {
      clearTimeout(timer);
      const args = arguments;
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  function init(form) {
    const frame = form.querySelector('[data-preview-frame]');
    const smsBox = form.querySelector('[data-preview-sms]');
    const status = form.querySelector('[data-preview-status]');
    const problemsBox = form.querySelector('[data-problems]');
    const generate = form.querySelector('[data-generate]');
    const search = form.querySelector('[data-customer-search]');
    const results = form.querySelector('[data-customer-results]');
    const chosen = form.querySelector('[data-customer-chosen]');
    const customerInput = form.querySelector('input[name=customer_id]');
    let tab = 'print';
    let last = null;
    let requestNumber = 0;

    function show() {
      if (!last) return;
      smsBox.hidden = tab !== 'sms';
      frame.hidden = tab === 'sms';
      if (tab === 'sms') {
        form.querySelector('[data-sms-text]').textContent = last.sms ? last.sms.text : '';
        form.querySelector('[data-sms-meta]').textContent = last.sms
          ? last.sms.length + ' characters · ' + last.sms.units + ' ' + last.sms.encoding +
            (last.sms.encoding === 'GSM-7' ? ' septets' : ' code units') + ' · ' + last.sms.segments + ' segment(s)'
          : 'This template has no SMS text.';
      } else {
        // The frame is sandboxed (no allow-scripts); each document starts with its own policy.
        const frames = last.frames || {};
        frame.srcdoc = (tab === 'email' ? frames.email : frames.print) || '';
      }
    }

    function showProblems(problems) {
      form.querySelectorAll('.cc-field-problem').forEach(function (el) { el.classList.remove('cc-field-problem'); });
      problemsBox.replaceChildren();
      problemsBox.classList.toggle('cc-problems--ok', problems.length === 0);
      const heading = document.createElement('h2');
      heading.textContent = problems.length ? 'To fix before generating (' + problems.length + ')' : 'Ready to generate';
      problemsBox.appendChild(heading);
      if (!problems.length) return;
      const list = document.createElement('ul');
      problems.forEach(function (problem) {
        const item = document.createElement('li');
        item.dataset.problemField = problem.field;
        const code = document.createElement('code');
        code.textContent = problem.field;
        item.append(code, ' ', problem.message);
        list.appendChild(item);
        const path = problem.field.replace(/\[\d+\]/g, '').replace(/^slots\./, '');
        const input = form.querySelector('[data-path="' + CSS.escape(path) + '"], [data-path^="' + CSS.escape(path) + '."], [data-slot="' + CSS.escape(path) + '"]');
        if (input) input.classList.add('cc-field-problem');
      });
      problemsBox.appendChild(list);
    }

    const refresh = debounce(function () {
      const number = ++requestNumber;
      status.textContent = 'Updating preview…';
      fetch(form.dataset.previewUrl, { method: 'POST', body: new FormData(form), credentials: 'same-origin',
                                       headers: { 'X-Requested-With': 'fetch' } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (number !== requestNumber) return; // an older answer arriving late
          last = data;
          showProblems(data.missing || []);
          generate.disabled = !data.can_generate;
          status.textContent = data.can_generate ? 'Preview up to date' : 'Preview up to date · not ready';
          show();
        })
        .catch(function () { status.textContent = 'The preview could not be updated.'; });
    }, 350);

    form.addEventListener('input', function (event) {
      if (event.target === search) return;
      refresh();
    });
    // ARIA tabs: the selected tab is the one in the tab order (arrow keys move between them),
    // and the one panel is labelled by it.
    const tabs = Array.prototype.slice.call(form.querySelectorAll('[data-preview-tab]'));
    const panel = form.querySelector('[data-preview-panel]');
    function selectTab(name) {
      tab = name;
      tabs.forEach(function (other) {
        const selected = other.dataset.previewTab === name;
        other.setAttribute('aria-selected', String(selected));
        other.tabIndex = selected ? 0 : -1;
        if (selected && panel) panel.setAttribute('aria-labelledby', other.id);
      });
      show();
    }

    // The preview shows the version the customer will get on the chosen channel.
    const channelTabs = { print: 'print', email: 'email', sms: 'sms' };
    const channelSelect = form.querySelector('select[name=channel]');
    function followChannel() {
      if (channelSelect && channelTabs[channelSelect.value]) selectTab(channelTabs[channelSelect.value]);
    }

    form.addEventListener('change', function (event) {
      if (event.target === search) return;
      if (event.target === channelSelect) followChannel();
      refresh();
    });

    tabs.forEach(function (button, index) {
      button.addEventListener('click', function () { selectTab(button.dataset.previewTab); });
      button.addEventListener('keydown', function (event) {
        const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
        if (!(event.key in moves)) return;
        event.preventDefault();
        const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
        next.focus();
        selectTab(next.dataset.previewTab);
      });
    });

    form.querySelectorAll('[data-confirm]').forEach(function (button) {
      button.addEventListener('click', function (event) {
        if (!window.confirm(button.dataset.confirm)) event.preventDefault();
      });
    });

    function fill(record) {
      form.querySelectorAll('[data-path]').forEach(function (input) {
        let value = record;
        input.dataset.path.split('.').forEach(function (part) {
          value = value && typeof value === 'object' ? value[part] : undefined;
        });
        if (input.tagName === 'SELECT') {
          input.value = value === true ? 'true' : value === false ? 'false' : '';
        } else if (input.tagName === 'TEXTAREA') {
          input.value = value === undefined || value === null ? '' : JSON.stringify(value, null, 1);
        } else {
          input.value = value === undefined || value === null ? '' : String(value);
        }
      });
    }

    function choose(customer) {
      customerInput.value = customer.id;
      chosen.textContent = customer.full_name + ' (' + customer.id + ')' + (customer.email ? ' · ' + customer.email : '');
      results.replaceChildren();
      search.value = '';
      const url = form.dataset.customerRecordUrl.replace('__id__', encodeURIComponent(customer.id));
      fetch(url, { credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          fill(data.record || {});
          const preferred = data.record && data.record.customer && data.record.customer.preferred_channel;
          if (channelSelect && preferred && channelSelect.querySelector('option[value="' + CSS.escape(preferred) + '"]')) {
            channelSelect.value = preferred;
            followChannel();
          }
          refresh();
        })
        .catch(function () {
          customerInput.value = '';
          chosen.textContent = 'The customer record could not be loaded; choose the customer again.';
          refresh();
        });
    }

    let searchNumber = 0;
    const runSearch = debounce(function () {
      const query = search.value.trim();
      const number = ++searchNumber;
      if (!query) { results.replaceChildren(); return; }
      fetch(form.dataset.customerSearchUrl + '?q=' + encodeURIComponent(query), { credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          if (number !== searchNumber) return; // a newer search is under way
          results.replaceChildren();
          (data.results || []).forEach(function (customer) {
            const item = document.createElement('li');
            const button = document.createElement('button');
            button.type = 'button';
            button.dataset.customerId = customer.id;
            button.textContent = customer.full_name + ' · ' + customer.id + (customer.email ? ' · ' + customer.email : '');
            button.addEventListener('click', function () { choose(customer); });
            item.appendChild(button);
            results.appendChild(item);
          });
          if (!(data.results || []).length) {
            const item = document.createElement('li');
            item.className = 'cc-muted';
            item.textContent = 'No customer found.';
            results.appendChild(item);
          }
        })
        .catch(function () {
          if (number !== searchNumber) return;
          results.replaceChildren();
          const item = document.createElement('li');
          item.className = 'cc-muted';
          item.textContent = 'The customer search is not available right now.';
          results.appendChild(item);
        });
    }, 250);
    search.addEventListener('input', runSearch);
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') {
        event.preventDefault();
        const first = results.querySelector('button');
        if (first) first.click();
      }
    });

    followChannel();
    refresh();
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-letter-builder]').forEach(init);
  });
})();
