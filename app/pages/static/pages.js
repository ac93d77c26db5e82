// dpa pages: the little script they use. Forms work without it; it only asks before a
// dangerous move (data-confirm) and moves focus to the error summary.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
  // A table wider than the screen scrolls inside its frame: the keyboard must reach it too.
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    if (wrap.scrollWidth > wrap.clientWidth && !wrap.hasAttribute("tabindex")) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", document.title);
    }
  });
});

// The before-you-buy check while an engagement is filled in: the form is sent (with its token)
// to the check, which stores nothing, and the findings it would raise appear above the form.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-live-check]");
  var panel = document.getElementById("live-check");
  if (!form || !panel || !window.fetch) return;
  if (document.getElementById("check")) return; // a check the server rendered is on the page already
  var timer = null;
  function run() {
    var body = new URLSearchParams(new FormData(form));
    body.delete("action");
    fetch(form.getAttribute("data-live-check"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) return;
      panel.innerHTML = html;
      panel.hidden = false;
    }).catch(function () { /* the Check button still works */ });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
});
