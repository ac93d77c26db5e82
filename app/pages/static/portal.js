// The vendor portal's upload form: files dropped on the zone join the file field, and a large
// upload shows its progress. Without the script the form still posts as a plain form; a second
// click sends the same idempotency key, so it makes one attestation either way.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-upload]");
  if (!form) return;
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-dropzone]");
  var list = form.querySelector("[data-file-list]");
  var bar = form.querySelector("[data-progress]");

  function show() {
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
      list.appendChild(item);
    });
  }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!window.DataTransfer) return;
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (file) { all.items.add(file); });
    Array.prototype.forEach.call(event.dataTransfer.files, function (file) { all.items.add(file); });
    input.files = all.files;
    show();
  });

  var sending = false;
  form.addEventListener("submit", function (event) {
    if (!window.XMLHttpRequest || !window.FormData) return; // the plain post
    event.preventDefault();
    if (sending) return;
    sending = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) return;
      bar.hidden = false;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
    });
    xhr.addEventListener("load", function () {
      sending = false;
      if (xhr.status === 200 && xhr.responseURL && xhr.responseURL.indexOf("/portal/attestations/new") === -1
          && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL); // sent: the attestation's page
        return;
      }
      document.open(); // refused: the form again, with each message beside its field
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { sending = false; form.submit(); });
    xhr.send(new FormData(form));
  });
});
