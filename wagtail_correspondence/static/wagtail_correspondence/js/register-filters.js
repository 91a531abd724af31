/* The register's filters are selects: choosing an option opens the list with that filter, as
   the links of a filter list would. */
(function () {
  'use strict';

  function init() {
    document.querySelectorAll('[data-filter-select]').forEach(function (select) {
      select.addEventListener('change', function () {
        window.location.assign(select.value);
      });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
