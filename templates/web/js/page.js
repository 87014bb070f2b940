(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var left = Math.floor((Number(el.getAttribute("data-deadline")) - now) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-done") || "已结束";
        el.removeAttribute("data-deadline");
        continue;
      }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      el.textContent = (d ? d + "天 " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    }
  }
  tick();
  setInterval(tick, 1000);
  var body = document.body, ticket = body.getAttribute("data-visit");
  if (ticket && navigator.sendBeacon) {
    var code = new URLSearchParams(location.search).get("s") || body.getAttribute("data-code") || "";
    var form = new FormData();
    form.append("t", ticket);
    if (code) { form.append("s", code); }
    navigator.sendBeacon("/h5/visits", form);
  }
  var copy = document.querySelectorAll("[data-copy]");
  for (var j = 0; j < copy.length; j++) {
    copy[j].addEventListener("click", function (event) {
      var text = event.currentTarget.getAttribute("data-copy");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          event.currentTarget.textContent = "已复制";
        }, function () {});
      }
    });
  }
  // An error page's link back goes back in history when it leads to the page just left:
  // the browser then shows the form as it was filled, not a blank one to type again.
  var backs = document.querySelectorAll("a[data-back]");
  for (var b = 0; b < backs.length; b++) {
    backs[b].addEventListener("click", function (event) {
      if (history.length > 1 && document.referrer === event.currentTarget.href) {
        event.preventDefault();
        history.back();
      }
    });
  }
  var printers = document.querySelectorAll("[data-print]");
  for (var k = 0; k < printers.length; k++) {
    printers[k].addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  }
})();
