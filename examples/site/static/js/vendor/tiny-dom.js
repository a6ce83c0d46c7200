/*! tiny-dom 1.0 — a three-function DOM helper written for the example */
(function (global) {
  "use strict";
  function $(selector, root) { return (root || document).querySelector(selector); }
  function on(el, type, handler) { el.addEventListener(type, handler, false); return el; }
  function text(el, value) { el.textContent = value; return el; }
  global.tinyDom = { $: $, on: on, text: text }
})(window)
