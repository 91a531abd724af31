/* The letter builder: customer search, live preview as fields change, preview tabs.
 * Everything is rendered on the server; this only posts the form and shows the answer. */
(function () {
  'use strict';

  // The words this script writes, in the reader's language ({% script_strings "builder" %}).
  const STRINGS = JSON.parse((document.getElementById('cc-strings-builder') || {}).textContent || '{}');
  function t(key, values) {
    let text = STRINGS[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split('%(' + name + ')s').join(values[name]); });
    return text;
  }

  function debounce(fn, wait) {
    let timer;
    return function () {
      clearTimeout(timer);
      const args = arguments;
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  // A tailorable paragraph: its editor shows only while "Edit the wording" is chosen.
  function initTailor(fieldset) {
    const box = fieldset.querySelector('[data-tailor-editor-box]');
    if (!box) return;
    function sync() {
      const chosen = fieldset.querySelector('input[type=radio]:checked');
      box.hidden = !chosen || chosen.value !== 'edit';
    }
    fieldset.addEventListener('change', sync);
    sync();
  }

  // A zone the agent arranges: the posted input holds the keys in order, separated by commas;
  // this list adds, moves and removes them with buttons.
  function initZone(input) {
    const offered = JSON.parse(input.dataset.zoneOffered || '[]');
    const titles = {};
    offered.forEach(function (pair) { titles[pair[0]] = pair[1]; });
    const max = parseInt(input.dataset.zoneMax || '0', 10);
    const fixed = JSON.parse(input.dataset.zoneFixed || '[]'); // always there: moved, never removed
    const label = input.closest('.w-field__wrapper, .w-field') ;
    input.type = 'hidden';
    const list = document.createElement('ol');
    list.className = 'cc-zone';
    list.setAttribute('aria-label', (label && label.querySelector('label') ? label.querySelector('label').textContent.trim() : t('zone')));
    const adder = document.createElement('div');
    adder.className = 'cc-zone__add';
    const select = document.createElement('select');
    select.setAttribute('aria-label', t('fragment_to_add'));
    select.dataset.zoneAddChoice = input.dataset.zone;
    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'button button-small button-secondary';
    add.textContent = t('add');
    add.dataset.zoneAdd = input.dataset.zone;
    adder.append(select, add);
    input.after(list, adder);

    function keys() { return input.value.split(',').map(function (key) { return key.trim(); }).filter(Boolean); }
    function write(next) {
      input.value = next.join(',');
      input.dispatchEvent(new Event('input', { bubbles: true }));
      render();
    }
    function button(text, name, action, disabled) {
      const element = document.createElement('button');
      element.type = 'button';
      element.className = 'button button-small button-secondary';
      element.textContent = text;
      element.setAttribute('aria-label', text + ': ' + name);
      element.disabled = disabled;
      element.addEventListener('click', action);
      return element;
    }
    function render() {
      const current = keys();
      list.replaceChildren();
      current.forEach(function (key, index) {
        const item = document.createElement('li');
        item.dataset.zoneItem = key;
        const name = document.createElement('span');
        name.className = key === 'page_break' ? 'cc-zone__name cc-zone__name--break' : 'cc-zone__name';
        name.textContent = titles[key] || key;
        const move = function (by) {
          return function () {
            const next = current.slice();
            next.splice(index + by, 0, next.splice(index, 1)[0]);
            write(next);
          };
        };
        const actions = document.createElement('span');
        actions.className = 'cc-zone__actions';
        actions.append(
          button(t('move_up'), name.textContent, move(-1), index === 0),
          button(t('move_down'), name.textContent, move(1), index === current.length - 1));
        if (fixed.indexOf(key) >= 0) {
          const note = document.createElement('span');
          note.className = 'cc-muted';
          note.textContent = t('always_sent');
          actions.append(note);
        } else {
          actions.append(button(t('remove'), name.textContent, function () {
            const next = current.slice();
            next.splice(index, 1);
            write(next);
          }, false));
        }
        item.append(name, actions);
        list.appendChild(item);
      });
      if (!current.length) {
        const empty = document.createElement('li');
        empty.className = 'cc-muted';
        empty.textContent = t('nothing_yet');
        list.appendChild(empty);
      }
      const fragments = current.filter(function (key) { return key !== 'page_break'; }).length;
      select.replaceChildren();
      offered.forEach(function (pair) {
        if (pair[0] !== 'page_break' && current.indexOf(pair[0]) >= 0) return;
        if (pair[0] !== 'page_break' && max && fragments >= max) return;
        const option = document.createElement('option');
        option.value = pair[0];
        option.textContent = pair[1];
        select.appendChild(option);
      });
      add.disabled = !select.options.length;
    }
    add.addEventListener('click', function () {
      if (select.value) write(keys().concat([select.value]));
    });
    render();
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
          ? t(last.sms.encoding === 'GSM-7' ? 'sms_meta_gsm' : 'sms_meta_ucs',
              { length: last.sms.length, units: last.sms.units, segments: last.sms.segments })
          : t('no_sms');
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
      heading.textContent = problems.length ? t('to_fix', { count: problems.length }) : t('ready');
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
      status.textContent = t('updating');
      fetch(form.dataset.previewUrl, { method: 'POST', body: new FormData(form), credentials: 'same-origin',
                                       headers: { 'X-Requested-With': 'fetch' } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (number !== requestNumber) return; // an older answer arriving late
          last = data;
          showProblems(data.missing || []);
          generate.disabled = !data.can_generate;
          status.textContent = data.can_generate ? t('up_to_date') : t('up_to_date_not_ready');
          show();
        })
        .catch(function () { status.textContent = t('preview_failed'); });
    }, 350);

    // Typing in a rich-text editor: Draftail writes its hidden input 250 ms after the last
    // change, so the preview waits a little longer for it.
    const refreshAfterEditor = debounce(refresh, 400);
    form.addEventListener('input', function (event) {
      if (event.target === search) return;
      if (event.target.closest && event.target.closest('.Draftail-Editor')) refreshAfterEditor();
      else refresh();
    });
    form.querySelectorAll('[data-tailor]').forEach(initTailor);
    form.querySelectorAll('input[data-zone]').forEach(initZone);
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
          chosen.textContent = t('customer_failed');
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
            item.textContent = t('no_customer');
            results.appendChild(item);
          }
        })
        .catch(function () {
          if (number !== searchNumber) return;
          results.replaceChildren();
          const item = document.createElement('li');
          item.className = 'cc-muted';
          item.textContent = t('search_unavailable');
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
