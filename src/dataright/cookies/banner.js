/* dataright's glue around vanilla-cookieconsent 3.x. It reads the configuration the server put in
 * window.__datarightBanner (generated from the declaration: dataright/cookies/banner.py) and
 *  - sets Google Consent Mode v2 to denied before anything else runs (only when the declaration asks for it),
 *    and updates it on every choice;
 *  - honours Global Privacy Control: targeting starts rejected, cannot be switched on, and the banner says so;
 *  - records every choice (first, changed, withdrawn) through POST /api/v1/cookie-consent, with the banner's
 *    revision, language, the categories accepted and the GPC flag, under a device id kept in the banner's cookie;
 *  - reopens the preferences from any data-cc="show-preferencesModal" element or href="#customize-cookies" link.
 */
(function () {
  'use strict';
  var cfg = window.__datarightBanner;
  if (!cfg) return;
  var cc = cfg.cookieconsent;
  var here = document.currentScript && document.currentScript.src ? document.currentScript.src : location.href;
  var apiUrl = new URL(cfg.api, here).href;
  var gpc = navigator.globalPrivacyControl === true;
  var cm = cfg.consentMode;
  var blocked = gpc ? cfg.gpcCategories : [];

  window.dataLayer = window.dataLayer || [];
  function gtag() {
    window.dataLayer.push(arguments);
  }
  function signals(accepted) {
    var out = {};
    cm.denied.forEach(function (s) { out[s] = 'denied'; });
    Object.keys(cm.signals).forEach(function (category) {
      if (accepted.indexOf(category) >= 0) cm.signals[category].forEach(function (s) { out[s] = 'granted'; });
    });
    return out;
  }
  if (cm) {
    var initial = signals([]);
    initial.wait_for_update = 500;
    gtag('consent', 'default', initial);
  }

  // the stylesheet comes from the same place as this script: a site adds one tag
  var cssUrl = new URL(here.replace(/\.js(\?.*)?$/, '.css'), location.href).href;
  if (!document.querySelector('link[data-dataright-banner]')) {
    var link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = cssUrl;
    link.setAttribute('data-dataright-banner', '');
    document.head.appendChild(link);
  }

  // the device id: kept in the banner's own (strictly necessary) cookie, across revisions
  function previousDevice() {
    var name = cc.cookie.name.replace(/[.]/g, '\\.');
    var found = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    if (!found) return null;
    try {
      var value = JSON.parse(decodeURIComponent(found[1]));
      return value && value.data && typeof value.data.device === 'string' ? value.data.device : null;
    } catch (e) {
      return null;
    }
  }
  function newDevice() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  var earlierDevice = previousDevice();

  function device(CC) {
    var data = CC.getCookie('data');
    var id = (data && data.device) || earlierDevice || newDevice();
    if (!data || data.device !== id) CC.setCookieData({ value: { device: id }, mode: 'overwrite' });
    return id;
  }

  function accepted(CC) {
    return CC.getUserPreferences().acceptedCategories.filter(function (c) {
      return c !== 'strictly_necessary' && cfg.categories.indexOf(c) >= 0;
    });
  }

  var records = [];
  function record(CC) {
    var chosen = accepted(CC);
    var language = CC.getCookie('languageCode') || cc.language.default;
    var body = {
      controller: cfg.controller,
      device_id: device(CC),
      accepted: chosen,
      banner_revision: cfg.revision,
      language: language,
      gpc: gpc,
      notice_version: cfg.noticeVersion
    };
    var sent = fetch(apiUrl, {
      method: 'POST',
      mode: 'cors',
      credentials: 'omit',
      keepalive: true,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (response) { return response.status; }, function () { return 0; });
    records.push(sent);
    window.__datarightBannerRecords = records;
  }

  function update(CC) {
    if (cm) gtag('consent', 'update', signals(accepted(CC)));
  }

  function honourGpc(CC) {
    // a choice made before the signal was switched on: take targeting back (recorded as a change)
    var keep = CC.getUserPreferences().acceptedCategories;
    if (blocked.some(function (c) { return keep.indexOf(c) >= 0; })) {
      CC.acceptCategory(keep.filter(function (c) { return blocked.indexOf(c) < 0; }));
      return true;
    }
    return false;
  }

  // categories' cookies to clear on withdrawal: names, or patterns for names like _ga_*
  Object.keys(cc.categories).forEach(function (key) {
    var clear = cc.categories[key].autoClear;
    if (clear) {
      clear.cookies = clear.cookies.map(function (c) { return { name: c.regex ? new RegExp(c.regex) : c.name }; });
    }
  });
  cc.cookie.secure = location.protocol === 'https:';

  if (gpc) {
    Object.keys(cc.language.translations).forEach(function (lang) {
      var t = cc.language.translations[lang];
      var notice = '<strong data-dataright-gpc>' + cfg.gpcNotice[lang] + '</strong><br>';
      t.consentModal.description = notice + t.consentModal.description;
      t.preferencesModal.sections.forEach(function (section) {
        if (blocked.indexOf(section.linkedCategory) >= 0) section.description = notice + section.description;
      });
    });
  }

  window.__datarightBannerRun = function () {
    var CC = window.CookieConsent;
    if (!CC) return;
    var options = Object.assign({}, cc, {
      onFirstConsent: function () {
        if (!honourGpc(CC)) record(CC);
      },
      onConsent: function () {
        if (!honourGpc(CC)) update(CC);
      },
      onChange: function () {
        update(CC);
        record(CC);
      },
      onModalReady: function (event) {
        if (!gpc || event.modalName !== 'preferencesModal') return;
        blocked.forEach(function (category) {
          var toggle = event.modal.querySelector('input[value="' + category + '"]');
          if (toggle) {
            toggle.checked = false;
            toggle.disabled = true;
          }
        });
      }
    });
    if (gpc) {
      // "Accept all" under GPC accepts everything but the categories the signal keeps off
      window.addEventListener('click', function (event) {
        var button = event.target.closest && event.target.closest('#cc-main [data-role="all"]');
        if (!button) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        CC.acceptCategory('all', blocked);
        CC.hide();
        CC.hidePreferences();
      }, true);
    }
    document.addEventListener('click', function (event) {
      var link = event.target.closest && event.target.closest('a[href="#customize-cookies"]');
      if (!link) return;
      event.preventDefault();
      CC.showPreferences();
    });
    var start = function () { CC.run(options); };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
    else start();
  };
})();
