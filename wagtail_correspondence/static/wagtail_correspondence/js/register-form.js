/* The register's entry forms. The tags widget types into an input of its own that has no
   label: it gets the tags field's label. “Register incoming mail” also has the customer look-up. Searching asks the register's customer
   search (summaries only); choosing a customer reads the sender's details from their record
   (a logged read) and fills the form's sender fields and customer number. */
(function () {
  'use strict';

  // The words this script writes, in the reader's language ({% script_strings "register_form" %}).
  const STRINGS = JSON.parse((document.getElementById('cc-strings-register_form') || {}).textContent || '{}');
  function t(key, values) {
    let text = STRINGS[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split('%(' + name + ')s').join(values[name]); });
    return text;
  }

  function setup(box) {
    const form = box.closest('form');
    const query = box.querySelector('[data-customer-query]');
    const results = box.querySelector('[data-customer-results]');
    const chosen = box.querySelector('[data-customer-chosen]');
    let timer = null;
    let latest = 0;

    function message(text) {
      results.replaceChildren();
      const item = document.createElement('li');
      item.className = 'cc-muted';
      item.textContent = text;
      results.appendChild(item);
    }

    function fill(party) {
      Object.keys(party).forEach(function (name) {
        const field = form.elements.namedItem(name);
        if (field && 'value' in field) {
          field.value = party[name];
          field.dispatchEvent(new Event('change', { bubbles: true }));
        }
      });
    }

    function choose(customer) {
      const url = box.dataset.partyUrl.replace('__id__', encodeURIComponent(customer.id));
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          fill(data.party);
          results.replaceChildren();
          chosen.textContent = t('sender', { name: customer.full_name, id: customer.id });
          chosen.dataset.customerId = customer.id;
        })
        .catch(function () { message(t('customer_failed')); });
    }

    function search() {
      const text = query.value.trim();
      const ticket = ++latest;
      if (!text) { results.replaceChildren(); return; }
      fetch(box.dataset.searchUrl + '?q=' + encodeURIComponent(text), {
        credentials: 'same-origin', headers: { Accept: 'application/json' },
      })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          if (ticket !== latest) { return; } // an older answer arriving late
          results.replaceChildren();
          (data.results || []).forEach(function (customer) {
            const item = document.createElement('li');
            const button = document.createElement('button');
            button.type = 'button';
            button.className = 'button button-small button-secondary';
            button.dataset.customerId = customer.id;
            button.textContent = customer.full_name + ' · ' + customer.id + (customer.email ? ' · ' + customer.email : '');
            button.addEventListener('click', function () { choose(customer); });
            item.appendChild(button);
            results.appendChild(item);
          });
          if (!results.children.length) { message(t('no_customer')); }
        })
        .catch(function () { message(t('search_unavailable')); });
    }

    query.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    // Enter searches at once instead of submitting the registration.
    query.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') {
        event.preventDefault();
        clearTimeout(timer);
        search();
      }
    });
  }

  // Wagtail's tag controller builds its input after the page has loaded: label it when it appears.
  function labelTagInputs() {
    document.querySelectorAll('input[data-controller~="w-tag"][id]').forEach(function (field) {
      const label = document.querySelector('label[for="' + field.id + '"]');
      const container = field.parentElement;
      if (!label || !container) { return; }
      function apply() {
        const typed = container.querySelector('.tagit input[type=text]');
        if (!typed) { return false; }
        if (label.id) {
          typed.setAttribute('aria-labelledby', label.id);
        } else {
          typed.setAttribute('aria-label', label.textContent.trim());
        }
        return true;
      }
      if (apply()) { return; }
      const observer = new MutationObserver(function () { if (apply()) { observer.disconnect(); } });
      observer.observe(container, { childList: true, subtree: true });
    });
  }

  function init() {
    document.querySelectorAll('[data-customer-lookup]').forEach(setup);
    labelTagInputs();
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
