// A local stand-in for Stripe.js v3, for tests only: the part Clientele's console uses.
//   Stripe(publishableKey, {stripeAccount})
//   stripe.elements({clientSecret, locale}).create('payment') -> element.mount(target), element.on('ready', fn)
//   stripe.confirmSetup({elements, confirmParams: {return_url}, redirect: 'if_required' | 'always'})
// As with Stripe's own, the card is typed into a frame served from Stripe's origin, so the page
// around it never sees the number; the frame confirms the SetupIntent with the publishable key.
(function () {
  'use strict';
  var origin = new URL(document.currentScript.src).origin;

  function Stripe(key, options) {
    if (!(this instanceof Stripe)) return new Stripe(key, options);
    if (typeof key !== 'string' || key.indexOf('pk_') !== 0) {
      throw new Error('Stripe(): a publishable key (pk_...) is required');
    }
    var account = (options && options.stripeAccount) || null;

    this.elements = function (settings) {
      var frame = null;
      var clientSecret = settings && settings.clientSecret;
      var locale = (settings && settings.locale) || 'auto';
      return {
        create: function (type) {
          if (type !== 'payment') throw new Error('(fake Stripe.js) only the payment element exists here');
          var handlers = {};
          return {
            mount: function (target) {
              var parent = typeof target === 'string' ? document.querySelector(target) : target;
              frame = document.createElement('iframe');
              frame.title = 'Secure payment input frame';
              frame.name = '__privateStripeFrame';
              frame.src = origin + '/v3/elements.html?locale=' + encodeURIComponent(locale);
              frame.style.width = '100%';
              frame.style.height = '13rem';
              frame.style.border = '0';
              frame.addEventListener('load', function () {
                (handlers.ready || []).forEach(function (fn) { fn({ elementType: 'payment' }); });
              });
              parent.appendChild(frame);
            },
            on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
          };
        },
        _confirm: function () {
          return new Promise(function (resolve) {
            var channel = new MessageChannel();
            channel.port1.onmessage = function (event) { resolve(event.data); };
            frame.contentWindow.postMessage(
              { type: 'confirm', key: key, account: account, clientSecret: clientSecret },
              origin,
              [channel.port2],
            );
          });
        },
      };
    };

    this.confirmSetup = function (params) {
      return params.elements._confirm().then(function (answer) {
        if (answer.error) return { error: answer.error };
        var intent = answer.setupIntent;
        if (params.redirect === 'if_required') return { setupIntent: intent };
        var url = new URL(params.confirmParams.return_url);
        url.searchParams.set('setup_intent', intent.id);
        url.searchParams.set('setup_intent_client_secret', intent.client_secret);
        url.searchParams.set('redirect_status', intent.status);
        window.location.assign(url.href);
        return new Promise(function () {});
      });
    };
  }

  window.Stripe = Stripe;
})();
