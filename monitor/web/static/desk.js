// Keyboard shortcuts and bulk ticking for the review desk. Progressive: every action also works as a plain form.
// j/k move, x tick, o or Enter open, s select for translation, r reject. No inline script (CSP: script-src 'self').
"use strict";

(function () {
  function typing(event) {
    const el = event.target;
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }

  function rows() {
    return Array.from(document.querySelectorAll("table.inbox tr.item"));
  }

  function current() {
    return document.querySelector("table.inbox tr.item.current");
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const here = current();
    let index = here ? all.indexOf(here) + step : 0;
    index = Math.max(0, Math.min(all.length - 1, index));
    if (here) {
      here.classList.remove("current");
      here.removeAttribute("aria-current");
    }
    all[index].classList.add("current");
    all[index].setAttribute("aria-current", "true");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function tickCurrentIfNone() {
    const form = document.getElementById("bulk");
    const ticked = form.querySelectorAll('input[name="id"]:checked');
    const here = current();
    if (!ticked.length && here) here.querySelector('input[name="id"]').checked = true;
    return form.querySelectorAll('input[name="id"]:checked').length > 0;
  }

  function submitWith(key) {
    const item = document.getElementById("item-actions");
    const bulk = document.getElementById("bulk");
    const form = item || bulk;
    if (!form) return;
    const button = form.querySelector('button[data-key="' + key + '"]');
    if (!button) return;
    if (form === bulk && !tickCurrentIfNone()) return;
    form.requestSubmit(button);
  }

  function onKey(event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const here = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        if (here) { const box = here.querySelector('input[name="id"]'); box.checked = !box.checked; }
        break;
      case "o": case "Enter":
        if (here) window.location.assign(here.dataset.href);
        else return;
        break;
      case "s": case "r": submitWith(event.key); break;
      default: return;
    }
    event.preventDefault();
  }

  function tickAll(event) {
    for (const box of document.querySelectorAll('#bulk input[name="id"]')) box.checked = event.target.checked;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("keydown", onKey);
    const all = document.getElementById("tick-all");
    if (all) all.addEventListener("change", tickAll);
    for (const row of rows()) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a, input, button")) return;
        const here = current();
        if (here) here.classList.remove("current");
        row.classList.add("current");
      });
    }
  });
})();
