// What the editor's tabs (settings, forms, calendars) share: finding an element, building one,
// the editor's words, and starting a tab once modeler.js has loaded the draft and offers its
// API on the #modeler element (root.modelerApi).
(function () {
  "use strict";

  function el(id) { return document.getElementById(id); }

  function make(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else if (key in node && key !== "list") { node[key] = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  // The editor's words in the page's language (web/editor_words.py writes them into the page).
  function words() {
    try { return JSON.parse(el("editor-words").textContent); } catch (error) { return {}; }
  }

  // Calls start({root, api, words}) once the modeler is ready; a page without it starts nothing.
  function onModelerLoaded(start) {
    document.addEventListener("DOMContentLoaded", function () {
      var root = el("modeler");
      if (!root) { return; }
      function begin() {
        if (root.modelerApi) { start({ root: root, api: root.modelerApi, words: words() }); }
      }
      if (root.dataset.ready === "true") { begin(); } else { root.addEventListener("modeler:loaded", begin, { once: true }); }
    });
  }

  window.ModelerPanel = { el: el, make: make, words: words, onModelerLoaded: onModelerLoaded };
})();
