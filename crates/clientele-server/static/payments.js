// Clientele console: the card form. The card is typed into Stripe's payment element (Stripe.js,
// loaded from Stripe's host on this page only), and Stripe.js confirms the SetupIntent with
// Stripe directly: the number never reaches Clientele. Then back to the customer's profile.
(function () {
  "use strict";

  function start() {
    var form = document.querySelector("[data-stripe-form]");
    if (!form) return;
    var error = document.getElementById("card-error");
    var button = form.querySelector("button[type=submit]");
    if (typeof window.Stripe !== "function") {
      error.textContent = form.getAttribute("data-unavailable");
      return;
    }
    var account = form.getAttribute("data-account");
    var stripe = window.Stripe(form.getAttribute("data-publishable-key"), account ? { stripeAccount: account } : undefined);
    var elements = stripe.elements({
      clientSecret: form.getAttribute("data-client-secret"),
      locale: form.getAttribute("data-locale") || "auto",
    });
    var element = elements.create("payment");
    element.on("ready", function () { button.disabled = false; });
    element.mount("#payment-element");

    function failed(message) {
      error.textContent = message || form.getAttribute("data-failed");
      button.disabled = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      error.textContent = "";
      // Stripe comes back here after a 3-D Secure page; a card that needs none answers at once.
      var back = new URL(form.getAttribute("data-return"), window.location.href).href;
      stripe.confirmSetup({ elements: elements, confirmParams: { return_url: back }, redirect: "if_required" }).then(
        function (result) {
          if (result.error) return failed(result.error.message);
          var url = new URL(back);
          url.searchParams.set("setup_intent", result.setupIntent.id);
          url.searchParams.set("redirect_status", result.setupIntent.status);
          window.location.assign(url.href);
        },
        function () { failed(); },
      );
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
