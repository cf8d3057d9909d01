// The sign-up wizard's conveniences; the server checks everything either way. A static file, not an
// inline script, so that the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  // Step 1: the monthly total and the add-on limit (PLAN-4) while choosing.
  const form = document.getElementById("choice");
  if (form) {
    const out = document.getElementById("total"), warn = document.getElementById("addon-warning");
    const maxAddons = parseInt(form.dataset.maxAddons || "0", 10);
    const eur = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-NL" : "nl-NL", {style: "currency", currency: "EUR"});
    const update = function () {
      let cents = 0, count = 0;
      const plan = form.querySelector("input[name=plan]:checked");
      if (plan) cents += Math.round(parseFloat(plan.dataset.fee) * 100);
      form.querySelectorAll("input.addon").forEach(function (input) {
        const n = Math.max(0, parseInt(input.value || "0", 10) || 0);
        count += n; cents += n * Math.round(parseFloat(input.dataset.fee || "0") * 100);
      });
      out.textContent = plan ? eur.format(cents / 100) : "–";
      warn.hidden = count <= maxAddons;
    };
    form.addEventListener("input", update); update();
  }

  // Step 2: show the fields of a person or of a legal entity, as chosen.
  const kinds = document.querySelectorAll("input[name=kind]");
  if (kinds.length) {
    const person = ["first_name", "last_name", "date_of_birth"], organisation = ["organisation_name", "kvk_number"];
    const show = function () {
      const kind = document.querySelector("input[name=kind]:checked");
      const isOrganisation = kind && kind.value === "organisation";
      person.forEach(function (name) { const el = document.getElementById("id_" + name); if (el) el.closest("div").hidden = isOrganisation; });
      organisation.forEach(function (name) { const el = document.getElementById("id_" + name); if (el) el.closest("div").hidden = !isOrganisation; });
    };
    kinds.forEach(function (input) { input.addEventListener("change", show); });
    show();
  }
})();
