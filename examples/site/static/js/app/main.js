(function () {
  "use strict";
  var el = tinyDom.$("#clock");
  if (el) {
    tinyDom.text(el, "Loaded at " + loadedAt.toISOString());
  }
})();
