(function () {
  "use strict";
  var d = document;
  d.documentElement.className += " js";
  function show(id) {
    var shown = d.querySelectorAll(".card.shown");
    for (var i = 0; i < shown.length; i++) shown[i].classList.remove("shown");
    var card = id ? d.getElementById(id) : null;
    if (!card || !card.classList.contains("card")) card = id ? d.getElementById("card-" + id) : null;
    if (card) card.classList.add("shown");
  }
  var links = d.querySelectorAll("svg a.leg, svg a.node");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("focus", function (e) {
      show(e.currentTarget.getAttribute("href").slice(1));
    });
  }
  if (location.hash) show(location.hash.slice(1));
  window.addEventListener("hashchange", function () { show(location.hash.slice(1)); });
  var sel = d.getElementById("legsel");
  if (!sel) return;
  sel.addEventListener("change", function () {
    var v = sel.value, all = d.querySelectorAll("[data-legs]");
    for (var i = 0; i < all.length; i++) {
      all[i].hidden = v !== "" && (" " + all[i].getAttribute("data-legs") + " ").indexOf(" " + v + " ") < 0;
    }
    var groups = d.querySelectorAll(".group");
    for (var j = 0; j < groups.length; j++) {
      groups[j].hidden = v !== "" && !groups[j].querySelector(".f:not([hidden])");
    }
    var arrows = d.querySelectorAll("svg a.leg");
    for (var k = 0; k < arrows.length; k++) {
      arrows[k].classList.toggle("dim", v !== "" && arrows[k].getAttribute("data-leg") !== v);
    }
    if (v !== "") show("leg-" + v);
  });
})();
