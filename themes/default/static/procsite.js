// procsite page helpers. The page works without script; this only adds comfort.
(function () {
  "use strict";
  // Copy the full content hash when its short form is clicked.
  document.querySelectorAll("code.hash[data-full]").forEach(function (el) {
    el.addEventListener("click", function () {
      var full = el.getAttribute("data-full");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(full).then(function () {
          el.classList.add("copied");
          setTimeout(function () { el.classList.remove("copied"); }, 1200);
        });
      }
    });
  });
  // The print footer names the print date and the address of the controlled copy.
  var footer = document.querySelector(".print-footer");
  if (footer) {
    var base = footer.textContent;
    window.addEventListener("beforeprint", function () {
      var d = new Date().toISOString().slice(0, 10);
      footer.textContent = base + " · printed " + d + " · " + location.href;
    });
    window.addEventListener("afterprint", function () { footer.textContent = base; });
  }
})();
