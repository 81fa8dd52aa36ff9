// Clientele console: keyboard first. No inline scripts anywhere (the Content-Security-Policy
// forbids them); everything the pages need beyond htmx is here.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function results() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-results] a.result"));
  }

  function select(list, index) {
    list.forEach(function (a) { a.classList.remove("selected"); a.removeAttribute("aria-selected"); });
    var target = list[index];
    if (target) {
      target.classList.add("selected");
      target.setAttribute("aria-selected", "true");
      target.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    // "/" focuses the search box, from anywhere but a field being typed in.
    if (event.key === "/" && !typing(document.activeElement) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      var search = document.querySelector("[data-search]");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    // Arrows move through the results, from the search box too; Enter opens the one chosen.
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var list = results();
    if (!list.length) return;
    var active = document.activeElement;
    var index = list.indexOf(active);
    var inSearch = active && active.hasAttribute && active.hasAttribute("data-search");
    if (index === -1 && !inSearch) return;
    event.preventDefault();
    if (event.key === "ArrowDown") {
      select(list, index === -1 ? 0 : Math.min(index + 1, list.length - 1));
    } else if (index <= 0) {
      var box = document.querySelector("[data-search]");
      list.forEach(function (a) { a.classList.remove("selected"); });
      if (box) box.focus();
    } else {
      select(list, index - 1);
    }
  });

  // Enter in the search box opens the first result (the one a clerk is looking at).
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key !== "Enter" || !el.hasAttribute || !el.hasAttribute("data-search")) return;
    var list = results();
    if (list.length) {
      event.preventDefault();
      list[0].click();
    }
  });

  // Licence dates become required once a licence number is typed (the server says so too).
  function syncRequired() {
    document.querySelectorAll("[data-required-with]").forEach(function (input) {
      var source = document.getElementById(input.getAttribute("data-required-with"));
      var on = !!(source && source.value.trim());
      input.required = on;
      var label = document.querySelector("label[for='" + input.id + "'] .req");
      if (label) label.hidden = !on;
    });
  }
  document.addEventListener("input", syncRequired);

  // Forms that ask before doing something that cannot be taken back.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  function ready() {
    document.querySelectorAll("[data-current-path]").forEach(function (input) {
      input.value = window.location.pathname + window.location.search;
    });
    syncRequired();
    // After a refused form, the first field to fix has the focus.
    var invalid = document.querySelector("[aria-invalid='true']");
    if (invalid) invalid.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  document.addEventListener("htmx:afterSettle", syncRequired);
})();
