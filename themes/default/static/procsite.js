// procsite page helpers. Every page works without script; this only adds comfort.
(function () {
  "use strict";
  var doc = document;

  // Copy the full content hash when its short form is clicked (or activated by keyboard).
  doc.querySelectorAll("code.hash[data-full]").forEach(function (el) {
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", "Content hash " + el.textContent + ", copy the full SHA-256");
    function copy() {
      var full = el.getAttribute("data-full");
      if (!navigator.clipboard) { return; }
      navigator.clipboard.writeText(full).then(function () {
        el.classList.add("copied");
        setTimeout(function () { el.classList.remove("copied"); }, 1200);
      }, function () { /* clipboard refused (e.g. file://): nothing to do */ });
    }
    el.addEventListener("click", copy);
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); copy(); }
    });
  });

  // Wide tables in a procedure scroll sideways in their own box, never the whole page.
  doc.querySelectorAll(".doc-body table").forEach(function (table) {
    if (table.parentNode.classList.contains("table-scroll")) { return; }
    var box = doc.createElement("div");
    box.className = "table-scroll";
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Table");
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
  });

  // Site index: filter the document lists by id or title.
  var lists = doc.querySelectorAll("table.doc-list[data-filterable] tbody tr");
  var anchor = doc.querySelector("[data-filter-here]");
  if (lists.length && anchor) {
    var wrap = doc.createElement("div");
    wrap.className = "doc-filter";
    wrap.innerHTML = '<label for="doc-filter-input">Find a document</label>' +
      '<input id="doc-filter-input" type="search" autocomplete="off" placeholder="ID or words of the title">' +
      '<p class="doc-filter-none" hidden>No document matches.</p>';
    anchor.appendChild(wrap);
    var input = wrap.querySelector("input");
    var none = wrap.querySelector(".doc-filter-none");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      lists.forEach(function (tr) {
        var text = tr.textContent.toLowerCase();
        var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
        tr.hidden = !hit;
        if (hit) { shown++; }
      });
      doc.querySelectorAll("section.doc-group[data-filterable-group]").forEach(function (sec) {
        sec.hidden = sec.querySelectorAll("tbody tr:not([hidden])").length === 0;
      });
      none.hidden = shown !== 0;
    });
  }

  // Folded panels (narrow screens) open where a link points into them, and for print.
  var folded = doc.querySelectorAll("details[data-fold-below]");
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && doc.getElementById(id);
    if (!target) { return; }
    var inner = target.querySelector(":scope > details");
    if (inner) { inner.open = true; }
    for (var d = target.closest("details"); d; d = d.parentElement.closest("details")) { d.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  doc.addEventListener("click", function (e) {
    // A link to the fragment already in the address changes no hash: open it here too.
    var a = e.target.closest && e.target.closest("a[href^='#']");
    if (a && a.getAttribute("href") === location.hash) { openTarget(); }
  });
  openTarget();
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    folded.forEach(function (d) { if (!d.open) { closedForPrint.push(d); d.open = true; } });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  // The control stamp on every printed page (the @page margins of #print-stamp) and the
  // footer at the end of the document: the print date and time, and the address of the
  // controlled copy, as this page was opened. Without script they keep a blank to fill in.
  var stampStyle = doc.getElementById("print-stamp");
  if (stampStyle) {
    var now = doc.createElement("style");
    now.media = "print";
    now.id = "print-stamp-now";
    stampStyle.parentNode.insertBefore(now, stampStyle.nextSibling);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var when = function (d) {
      var off = -d.getTimezoneOffset(), sign = off < 0 ? "-" : "+";
      off = Math.abs(off);
      return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
        two(d.getHours()) + ":" + two(d.getMinutes()) + " UTC" + sign + two(Math.floor(off / 60)) + ":" + two(off % 60);
    };
    var css = function (s) { return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\A ") + '"'; };
    var fill = function () {
      var printed = when(new Date()), here = location.href;
      now.textContent = "@page { @bottom-left { content: " +
        css("UNCONTROLLED WHEN PRINTED · Printed " + printed + "\nControlled copy: " + here) + "; } }";
      doc.querySelectorAll(".print-footer .print-when").forEach(function (el) { el.textContent = printed; });
      doc.querySelectorAll(".print-footer .print-address").forEach(function (el) { el.textContent = here; });
    };
    window.addEventListener("beforeprint", fill);
    // Browsers that print without a beforeprint event still switch to the print media.
    if (window.matchMedia) {
      var media = window.matchMedia("print");
      var onChange = function (e) { if (e.matches) { fill(); } };
      if (media.addEventListener) { media.addEventListener("change", onChange); } else if (media.addListener) { media.addListener(onChange); }
    }
  }
})();

// Versions of a published site: a switcher, and a banner on superseded versions.
// Released pages never change, so they cannot know what came after them; they learn
// it from ../versions.js, which publish rewrites.
(function () {
  "use strict";
  var versions = window.PROCSITE_VERSIONS;
  var here = document.body.getAttribute("data-version");
  if (!versions || !versions.length || !here) { return; }
  var parts = location.pathname.split("/");
  var file = parts.pop() || "index.html";
  var folder = parts.pop();
  // The same page in version v; else, from a document's history or comparison, the
  // document's page; else the version's index.
  var docPage = file.replace(/\.(history|diff)\.html$/, ".html");
  var pageIn = function (v) {
    if (v.pages.indexOf(file) >= 0) { return file; }
    return v.pages.indexOf(docPage) >= 0 ? docPage : "index.html";
  };
  var target = function (v) { return "../" + v.version + "/" + pageIn(v); };
  var latest = versions[0];
  if (here !== latest.version && folder !== "latest") {
    var banner = document.createElement("div");
    banner.className = "superseded";
    banner.setAttribute("role", "alert");
    banner.textContent = "Superseded by version " + latest.version + ". ";
    var link = document.createElement("a");
    link.href = "../latest/" + pageIn(latest);
    link.textContent = "Read the current version";
    banner.appendChild(link);
    document.body.insertBefore(banner, document.body.firstChild);
  }
  var header = document.querySelector(".site-header .wrap");
  if (header) {
    var label = document.createElement("label");
    label.className = "version-switch";
    label.textContent = "Version ";
    var select = document.createElement("select");
    versions.forEach(function (v) {
      var option = document.createElement("option");
      option.value = target(v);
      option.textContent = v.version + (v.aliases.indexOf("latest") >= 0 ? " (latest)" : "");
      option.selected = v.version === here;
      select.appendChild(option);
    });
    select.addEventListener("change", function () { location.href = select.value; });
    label.appendChild(select);
    header.appendChild(label);
  }
})();

// Search at the point of use. The index of this site version is a script,
// search-index.js, loaded when the reader first searches (so it works from file://).
// Words are folded as the index folds them: lowercase, without diacritics. Each query
// word matches words it begins; a section must match every query word. An id or title
// match ranks above a heading match, which ranks above body text.
(function () {
  "use strict";
  var input = document.getElementById("search-input");
  var list = document.getElementById("search-results");
  if (!input || !list) { return; }
  var status = input.parentNode.querySelector(".search-status");
  var index = null, loading = false, active = -1, results = [];
  var LAST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", MORE = "abcdefghijklmnopqrstuvwxyz6789-_";
  var fold = function (s) { return s.toLowerCase().normalize("NFD").replace(/\p{M}/gu, ""); };
  var split = function (s) { return fold(s).split(/[^\p{L}\p{N}]+/u).filter(Boolean); };

  function prepare(raw) {
    var sections = raw.s.map(function (s) {
      // Gaps between word ids in base 32: a digit from LAST ends a number.
      var ids = [], at = 0, n = 0, code = s[4];
      for (var i = 0; i < code.length; i++) {
        var c = code.charAt(i), last = LAST.indexOf(c);
        if (last >= 0) { at += n * 32 + last; ids.push(at); n = 0; } else { n = n * 32 + MORE.indexOf(c); }
      }
      return { doc: s[0], anchor: s[1], heading: s[2], snippet: s[3], ids: Int32Array.from(ids), head: split(s[2]) };
    });
    var docs = raw.d.map(function (d) { return { id: d[0], title: d[1], words: split(d[0] + " " + d[1]) }; });
    return { words: raw.w, docs: docs, sections: sections };
  }
  // The ids of the words that begin with `prefix`: a range, as the words are sorted.
  function range(words, prefix) {
    var lo = 0, hi = words.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (words[m] < prefix) { lo = m + 1; } else { hi = m; } }
    var end = lo;
    while (end < words.length && words[end].lastIndexOf(prefix, 0) === 0) { end++; }
    return [lo, end];
  }
  function has(ids, r) {
    var lo = 0, hi = ids.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (ids[m] < r[0]) { lo = m + 1; } else { hi = m; } }
    return lo < ids.length && ids[lo] < r[1];
  }
  var begins = function (words, t) { return words.some(function (w) { return w.lastIndexOf(t, 0) === 0; }); };

  function search(query) {
    var terms = split(query);
    if (!terms.length) { return []; }
    var ranges = terms.map(function (t) { return range(index.words, t); });
    var found = [];
    index.sections.forEach(function (s, n) {
      var doc = index.docs[s.doc], score = 0;
      for (var i = 0; i < terms.length; i++) {
        var best = begins(doc.words, terms[i]) ? 100 : begins(s.head, terms[i]) ? 10 : has(s.ids, ranges[i]) ? 1 : 0;
        if (!best) { return; }
        score += best;
      }
      found.push({ score: score, n: n, s: s, doc: doc });
    });
    found.sort(function (a, b) { return b.score - a.score || a.n - b.n; });
    var perDoc = {}, out = [];
    for (var k = 0; k < found.length && out.length < 30; k++) {
      var id = found[k].doc.id;
      perDoc[id] = (perDoc[id] || 0) + 1;
      if (perDoc[id] <= 3) { out.push(found[k]); }
    }
    return out;
  }

  function select(i) {
    var items = list.querySelectorAll("[role=option]");
    if (!items.length) { return; }
    active = (i + items.length) % items.length;
    items.forEach(function (el, j) { el.setAttribute("aria-selected", j === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }
  function show() {
    list.textContent = "";
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (!index) { return; }
    results = search(input.value);
    var q = input.value.trim();
    list.hidden = !q;
    input.setAttribute("aria-expanded", q ? "true" : "false");
    if (status) { status.textContent = q ? results.length + " result(s)" : ""; }
    if (q && !results.length) {
      var none = document.createElement("li");
      none.className = "search-none";
      none.textContent = "No section matches every word.";
      list.appendChild(none);
    }
    results.forEach(function (r, i) {
      var li = document.createElement("li");
      li.id = "search-result-" + i;
      li.setAttribute("role", "option");
      var a = document.createElement("a");
      a.href = r.doc.id + ".html" + (r.s.anchor ? "#" + r.s.anchor : "");
      a.tabIndex = -1;
      var title = document.createElement("span");
      title.className = "search-doc";
      title.textContent = r.doc.id + " " + r.doc.title;
      a.appendChild(title);
      if (r.s.heading) {
        var h = document.createElement("span");
        h.className = "search-section";
        h.textContent = r.s.heading;
        a.appendChild(h);
      }
      if (r.s.snippet) {
        var p = document.createElement("span");
        p.className = "search-snippet";
        p.textContent = r.s.snippet;
        a.appendChild(p);
      }
      li.appendChild(a);
      list.appendChild(li);
    });
  }
  function load() {
    if (index || loading) { return; }
    loading = true;
    if (window.PROCSITE_SEARCH) { index = prepare(window.PROCSITE_SEARCH); show(); return; }
    var script = document.createElement("script");
    script.src = input.getAttribute("data-index");
    script.onload = function () { index = prepare(window.PROCSITE_SEARCH); show(); };
    script.onerror = function () { if (status) { status.textContent = "The search index could not be loaded."; } };
    document.head.appendChild(script);
  }
  input.addEventListener("focus", load);
  input.addEventListener("input", function () { load(); show(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { e.preventDefault(); select(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); select(active - 1); }
    else if (e.key === "Enter") {
      var items = list.querySelectorAll("[role=option] a");
      var target = items[active < 0 ? 0 : active];
      if (target) { e.preventDefault(); location.href = target.href; }
    } else if (e.key === "Escape") { input.value = ""; show(); }
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); input.focus(); }
  });
})();
