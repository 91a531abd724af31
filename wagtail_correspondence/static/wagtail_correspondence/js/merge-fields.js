/*
 * The merge-field picker of the fragment and template editors.
 *
 * Authors pick a field of the data dictionary chosen on the form (its "Data dictionary"
 * select) instead of typing {{ balance|money }} from memory. The picker inserts plain text,
 * which the checks on save judge like anything typed by hand.
 *
 * - In the rich-text editor it is a Draftail control below the text ("meta" toolbar), so it
 *   shows whether or not text is selected.
 * - Beside plain-text fields marked data-merge-field-input (subject, SMS text...) it is a
 *   button after the field.
 *
 * Loaded by the editor pages (wagtail_hooks.py); the script tag carries the endpoint of the
 * field lists and the translated wording. No inline script, no inline handlers (CSP).
 */
(function () {
  'use strict';

  if (window.correspondenceMergeFields) return; // loaded twice on one page: one picker is enough
  var script = document.currentScript;
  var baseUrl = script.getAttribute('data-merge-fields-url');
  var strings = JSON.parse(script.getAttribute('data-strings') || '{}');
  var cache = {};
  var dialog = null;
  var onPick = null;

  function text(key) {
    return strings[key] || key;
  }

  function element(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  /* The dictionary chosen on the form that holds ``origin`` (fragment or template). */
  function dictionaryId(origin) {
    var form = origin.closest('form') || document;
    var select = form.querySelector('[name="data_dictionary"]');
    return select && select.value ? select.value : '';
  }

  function loadFields(id) {
    if (!cache[id]) {
      cache[id] = fetch(baseUrl + encodeURIComponent(id) + '/', {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      });
      cache[id].catch(function () {
        delete cache[id]; // let a later attempt try again
      });
    }
    return cache[id];
  }

  /*
   * Where the field goes. Inside a Repeating list block (its item text or its columns) the
   * sub-fields of its list are offered, read through the block's item name; elsewhere only the
   * fields that stand on their own (a list's sub-fields mean nothing outside it).
   */
  function listContext(origin) {
    var part = origin.closest('[data-contentpath="item_text"], [data-contentpath="columns"]');
    var block = part && part.parentElement && part.parentElement.closest('[data-contentpath]');
    if (!block) return null;
    var source = block.querySelector('[data-contentpath="source"] input');
    var itemName = block.querySelector('[data-contentpath="item_name"] input');
    return {
      source: source ? source.value.trim() : '',
      itemName: (itemName && itemName.value.trim()) || 'item',
    };
  }

  function fieldsFor(payload, context) {
    return payload.fields.filter(function (entry) {
      if (!entry.list) return true;
      return context && (!context.source || context.source === entry.list);
    }).map(function (entry) {
      if (!entry.list || !context) return entry;
      return Object.assign({}, entry, { tag: entry.tag.replace(/^\{\{ item\./, '{{ ' + context.itemName + '.') });
    });
  }

  /* The dialog -------------------------------------------------------------------------- */

  function buildDialog() {
    var titleId = 'merge-field-picker-title';
    var searchId = 'merge-field-picker-search';
    var title = element('h2', { id: titleId, class: 'merge-field-picker__title', text: text('title') });
    var close = element('button', {
      type: 'button', class: 'button button-secondary button-small merge-field-picker__close', text: text('close'),
    });
    var search = element('input', {
      type: 'search', id: searchId, class: 'merge-field-picker__search', autocomplete: 'off',
      placeholder: text('search_placeholder'),
    });
    var status = element('p', { class: 'merge-field-picker__status', role: 'status', 'aria-live': 'polite' });
    var list = element('div', { class: 'merge-field-picker__list' });
    var node = element('dialog', { class: 'merge-field-picker', 'aria-labelledby': titleId }, [
      element('div', { class: 'merge-field-picker__header' }, [title, close]),
      element('label', { for: searchId, class: 'merge-field-picker__label', text: text('search') }),
      search, status, list,
    ]);
    close.addEventListener('click', function () { node.close(); });
    search.addEventListener('input', function () { filter(node); });
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') {
        event.preventDefault(); // the form around the editor must not submit
        var first = list.querySelector('.merge-field-picker__option:not([hidden])');
        if (first) first.click();
      } else if (event.key === 'ArrowDown') {
        var option = list.querySelector('.merge-field-picker__option:not([hidden])');
        if (option) { event.preventDefault(); option.focus(); }
      }
    });
    list.addEventListener('keydown', function (event) {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      var options = Array.prototype.slice.call(list.querySelectorAll('.merge-field-picker__option:not([hidden])'));
      var at = options.indexOf(document.activeElement);
      if (at === -1) return;
      event.preventDefault();
      var next = options[at + (event.key === 'ArrowDown' ? 1 : -1)];
      if (next) next.focus();
      else if (event.key === 'ArrowUp') search.focus();
    });
    node.addEventListener('close', function () { onPick = null; });
    document.body.appendChild(node);
    node.parts = { search: search, status: status, list: list };
    return node;
  }

  function option(entry) {
    var button = element('button', {
      type: 'button', class: 'merge-field-picker__option', 'data-merge-field-path': entry.path,
      'data-search': [entry.label, entry.path, entry.type_label, entry.group].join(' ').toLowerCase(),
    }, [
      element('span', { class: 'merge-field-picker__field-label', text: entry.label }),
      element('span', {
        class: 'merge-field-picker__field-type',
        text: entry.example ? entry.type_label + ' · ' + text('example') + ' ' + entry.example : entry.type_label,
      }),
      element('code', { class: 'merge-field-picker__tag', text: entry.tag }),
    ]);
    button.addEventListener('click', function () {
      var pick = onPick;
      dialog.close();
      if (pick) pick(entry);
    });
    return button;
  }

  function showFields(node, payload, fields) {
    var list = node.parts.list;
    list.textContent = '';
    var groups = [];
    fields.forEach(function (entry) {
      var group = groups[groups.length - 1];
      if (!group || group.name !== entry.group) {
        group = { name: entry.group, entries: [] };
        groups.push(group);
      }
      group.entries.push(entry);
    });
    groups.forEach(function (group) {
      var section = element('section', { class: 'merge-field-picker__group' });
      if (group.name) section.appendChild(element('h3', { class: 'merge-field-picker__group-title', text: group.name }));
      group.entries.forEach(function (entry) { section.appendChild(option(entry)); });
      list.appendChild(section);
    });
    node.parts.status.textContent = payload.dictionary.name;
    filter(node);
  }

  function filter(node) {
    var words = node.parts.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    node.parts.list.querySelectorAll('.merge-field-picker__group').forEach(function (section) {
      var inSection = 0;
      section.querySelectorAll('.merge-field-picker__option').forEach(function (button) {
        var haystack = button.getAttribute('data-search');
        var match = words.every(function (word) { return haystack.indexOf(word) !== -1; });
        button.hidden = !match;
        if (match) inSection += 1;
      });
      section.hidden = inSection === 0;
      shown += inSection;
    });
    var empty = node.parts.list.querySelector('.merge-field-picker__empty');
    if (!shown && node.parts.list.querySelector('.merge-field-picker__option')) {
      if (!empty) {
        node.parts.list.appendChild(element('p', { class: 'merge-field-picker__empty', text: text('no_results') }));
      }
    } else if (empty) {
      empty.remove();
    }
  }

  function openPicker(origin, pick) {
    if (!dialog) dialog = buildDialog();
    var parts = dialog.parts;
    onPick = pick;
    parts.search.value = '';
    parts.list.textContent = '';
    var id = dictionaryId(origin);
    if (!id) {
      parts.status.textContent = text('choose_dictionary');
    } else {
      parts.status.textContent = text('loading');
      var context = listContext(origin);
      loadFields(id).then(function (payload) {
        if (dialog.open) showFields(dialog, payload, fieldsFor(payload, context));
      }, function () {
        parts.status.textContent = text('failed');
      });
    }
    dialog.showModal();
    parts.search.focus();
  }

  /* Rich text: a Draftail control ------------------------------------------------------- */

  function insertIntoEditor(getEditorState, onChange, button, tag) {
    var DraftJS = window.DraftJS;
    var state = getEditorState();
    var content = DraftJS.Modifier.replaceText(state.getCurrentContent(), state.getSelection(), tag,
      state.getCurrentInlineStyle());
    var next = DraftJS.EditorState.push(state, content, 'insert-characters');
    onChange(DraftJS.EditorState.forceSelection(next, content.getSelectionAfter()));
    // Back to the text, the caret after the field, ready to type on.
    var editor = button.closest('[data-draftail-editor]');
    var editable = editor && editor.querySelector('[contenteditable="true"]');
    if (editable) window.setTimeout(function () { editable.focus(); }, 0);
  }

  function MergeFieldControl(props) {
    var React = window.React;
    return React.createElement('button', {
      type: 'button',
      className: 'Draftail-ToolbarButton merge-field-control',
      'data-merge-field-picker': '',
      // Keep the editor's caret where it is: the field goes there.
      onMouseDown: function (event) { event.preventDefault(); },
      onClick: function (event) {
        var button = event.currentTarget;
        openPicker(button, function (entry) {
          insertIntoEditor(props.getEditorState, props.onChange, button, entry.tag);
        });
      },
    }, React.createElement('span', { className: 'merge-field-control__braces', 'aria-hidden': 'true' }, '{ }'),
    ' ', text('button'));
  }

  if (window.draftail) {
    window.draftail.registerPlugin({ type: 'merge-field', meta: MergeFieldControl }, 'controls');
  }

  /* Plain-text fields: a button after the field ------------------------------------------ */

  function insertIntoInput(input, tag) {
    var start = input.selectionStart == null ? input.value.length : input.selectionStart;
    var end = input.selectionEnd == null ? start : input.selectionEnd;
    input.focus();
    input.setRangeText(tag, start, end, 'end');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function enhanceInput(input) {
    if (input.hasAttribute('data-merge-field-ready')) return;
    input.setAttribute('data-merge-field-ready', '');
    var label = input.id && document.querySelector('label[for="' + input.id + '"]');
    var button = element('button', {
      type: 'button', class: 'button button-secondary button-small merge-field-input-button',
      'data-merge-field-picker': '',
    }, [element('span', { 'aria-hidden': 'true', class: 'merge-field-control__braces', text: '{ }' }),
      document.createTextNode(' ' + text('button'))]);
    // Several such buttons on one form: each says which field it fills.
    if (label) {
      var name = label.cloneNode(true);
      name.querySelectorAll('.w-required-mark').forEach(function (mark) { mark.remove(); });
      button.setAttribute('aria-label', text('button') + ': ' + name.textContent.trim());
    }
    button.addEventListener('click', function () {
      openPicker(input, function (entry) { insertIntoInput(input, entry.tag); });
    });
    input.insertAdjacentElement('afterend', button);
  }

  function enhanceAll(root) {
    root.querySelectorAll('[data-merge-field-input]').forEach(enhanceInput);
  }

  function start() {
    enhanceAll(document);
    // Fields of blocks added to a StreamField later.
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          if (node.matches('[data-merge-field-input]')) enhanceInput(node);
          enhanceAll(node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();

  window.correspondenceMergeFields = { open: openPicker };
})();
