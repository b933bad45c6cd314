// Ridgeline Outfitters — the demo storefront's own script (a plain script, no build step).
//
// It runs before the edgewise include (it is the blocking <script> above it in <head>), so it
// can queue the visitor's stored consent choice and its listeners on `window.edgewise` before
// the include takes that array over: the choice applies before the first decision.
//
// The store works without edgewise: cart, routes, search and the consent banner are the site's
// own; edgewise only swaps the headline text, the layout class and the offer copy, and the
// panel on the right shows what it sees. Under the page's CSP nothing here uses innerHTML with
// data, inline styles (only CSSOM `el.style.x = …`) or eval.
(function () {
  'use strict';

  // ------------------------------------------------------------------ site data

  const CONSENT_KEY = 'demo-consent'; // the site's own record of the visitor's choice
  const CART_KEY = 'demo-cart';
  const PANEL_KEY = 'demo-panel';
  const PURPOSES = ['storage', 'personalization', 'measurement', 'profile_sync'];
  const PURPOSE_LABELS = {
    storage: 'Storage',
    personalization: 'Personalization',
    measurement: 'Measurement',
    profile_sync: 'Profile sync',
    session_personalization: 'Session only',
  };
  const SLOTS = ['hero-headline', 'layout', 'offer'];
  const SIM_TAGS = {
    'hero-headline': ['neutral', 'urgent', 'detailed', 'retention'],
    offer: ['none', 'discount', 'free_shipping'],
  };
  const SIM_POLICY_NAMES = {
    squarecb: 'SquareCB',
    thompson: 'Thompson',
    linucb: 'LinUCB',
    lints: 'LinTS',
    regression_epsilon: 'ε-greedy',
  };

  // Categories are the ones the model features know (models/storefront-v1.features.json).
  const CATEGORIES = {
    shoes: { label: 'Shoes', title: 'Trail shoes & boots' },
    bags: { label: 'Packs', title: 'Packs & bags' },
    dresses: { label: 'Dresses', title: 'Hiking dresses' },
    accessories: { label: 'Accessories', title: 'Accessories' },
  };

  const PRODUCTS = [
    {
      id: 'rl-101', slug: 'talus-trail-runner', name: 'Talus Trail Runner', category: 'shoes', price: 129,
      image: 'shoe', tone: 'ember', tagline: 'Grippy, light and quick to dry.',
      details: ['4 mm lugs for loose ground', '285 g per shoe (UK 8)', 'Recycled mesh upper'],
    },
    {
      id: 'rl-102', slug: 'summit-gtx-boot', name: 'Summit GTX Boot', category: 'shoes', price: 189,
      image: 'boot', tone: 'sand', tagline: 'Waterproof support for long days.',
      details: ['Waterproof membrane', 'Full-grain leather', 'Resoleable'],
    },
    {
      id: 'rl-201', slug: 'cairn-24-daypack', name: 'Cairn 24 Daypack', category: 'bags', price: 89,
      image: 'daypack', tone: 'sky', tagline: 'One pack for the trail and the commute.',
      details: ['24 litres', 'Padded laptop sleeve', 'Rain cover included'],
    },
    {
      id: 'rl-202', slug: 'traverse-55-pack', name: 'Traverse 55 Trekking Pack', category: 'bags', price: 239,
      image: 'trekpack', tone: 'clay', tagline: 'Carries a week out there in comfort.',
      details: ['55 + 10 litres', 'Adjustable back length', '1.6 kg'],
    },
    {
      id: 'rl-301', slug: 'merino-trail-dress', name: 'Merino Trail Dress', category: 'dresses', price: 98,
      image: 'dress', tone: 'moss', tagline: 'Soft merino that does not mind sweat.',
      details: ['Merino–Tencel blend', 'Hidden zip pocket', 'Packs to a fist'],
    },
    {
      id: 'rl-302', slug: 'sundown-hike-dress', name: 'Sundown Hike Dress', category: 'dresses', price: 74,
      image: 'dress-2', tone: 'dusk', tagline: 'Sun-ready with built-in shorts.',
      details: ['UPF 50 fabric', 'Built-in liner shorts', 'Quick-dry'],
    },
    {
      id: 'rl-401', slug: 'lumen-400-headlamp', name: 'Lumen 400 Headlamp', category: 'accessories', price: 45,
      image: 'headlamp', tone: 'night', tagline: '400 lumens, USB-C, red night mode.',
      details: ['400 lm max', '40 h on low', 'IPX6'],
    },
    {
      id: 'rl-402', slug: 'alpine-merino-beanie', name: 'Alpine Merino Beanie', category: 'accessories', price: 29,
      image: 'beanie', tone: 'frost', tagline: 'Warm, itch-free, fits under a hood.',
      details: ['100% merino', 'Double-layer cuff', 'One size'],
    },
  ];
  const BY_ID = new Map(PRODUCTS.map((p) => [p.id, p]));
  const BY_SLUG = new Map(PRODUCTS.map((p) => [p.slug, p]));

  // ------------------------------------------------------------------ edgewise access

  // Before the include loads, `window.edgewise` is an array of queued commands; after, the API.
  window.edgewise = window.edgewise || [];

  function api() {
    const e = window.edgewise;
    return e && !Array.isArray(e) && typeof e.on === 'function' ? e : null;
  }

  /** Calls the API, or queues the command for when the include takes over. */
  function ew(method, ...args) {
    const a = api();
    if (a) {
      try {
        return a[method](...args);
      } catch (e) {
        noteError(`${method}() threw: ${(e && e.message) || e}`);
        return undefined;
      }
    }
    (window.edgewise = window.edgewise || []).push([method, ...args]);
    return undefined;
  }

  const state = {
    ready: null, // null while loading, then the `ready` event's detail
    errors: [],
    log: [], // {t, kind, text, cls}
    decisions: {},
    tally: {}, // slot -> variant -> {shown, reward}
    engineConfig: null,
    simRuns: 0,
    spec: null,
  };

  function noteError(message) {
    if (state.errors[state.errors.length - 1] === message) return;
    state.errors.push(message);
    if (state.errors.length > 5) state.errors.shift();
    schedulePanel();
  }

  function tallyOf(slot, variant) {
    const s = (state.tally[slot] = state.tally[slot] || {});
    return (s[variant] = s[variant] || { shown: 0, reward: 0 });
  }

  function pushLog(kind, text, cls) {
    state.log.unshift({ t: Date.now(), kind, text, cls: cls || '' });
    if (state.log.length > 60) state.log.length = 60;
    schedulePanel();
  }

  const handlers = {
    ready(d) {
      state.ready = d || { ok: false, error: 'no detail' };
      if (d && d.ok) {
        const a = api();
        if (a) Object.assign(state.decisions, a.decisions());
      }
      schedulePanel();
      updateSimButton();
    },
    decision(d) {
      state.decisions[d.slot] = d;
      if (d.slot === 'layout') showLayoutName();
      schedulePanel();
    },
    event(e) {
      pushLog(e.kind, describeEvent(e));
    },
    exposure(d) {
      tallyOf(d.slot, d.variant_id).shown += 1;
      schedulePanel();
    },
    reward(r) {
      const d = r.decision;
      tallyOf(d.slot, d.variant_id).reward += r.value;
      pushLog('reward', `+${fmtNum(r.value)} to ${d.slot} → ${d.variant_id} (${r.why})`, 'is-reward');
    },
    consent(c) {
      // A wipe forgets what was learned, so the panel's per-variant counts start again too.
      if (c.change && c.change.wiped) state.tally = {};
      const p = c.change && c.change.purposes;
      const on = p ? PURPOSES.filter((k) => p[k]) : [];
      const what = c.source === 'withdraw' ? 'withdrawn; state wiped' : on.length ? on.join(', ') : 'nothing allowed';
      pushLog('consent', `${c.source}: ${what}`, 'is-consent');
    },
    restore(r) {
      if (r.error) pushLog('restore', `stored state dropped (${r.error})`, 'is-consent');
      else pushLog('restore', `state restored from ${r.scope} storage`, 'is-consent');
    },
    sync(s) {
      pushLog('sync', `sent ${s.what} (${fmtBytes(s.bytes)}) to ${s.url}`, 'is-consent');
    },
    error(e) {
      noteError((e && e.message) || String(e));
    },
  };
  for (const name of Object.keys(handlers)) window.edgewise.push(['on', name, handlers[name]]);

  // The visitor's stored choice goes in before anything is decided.
  const storedConsent = readConsent();
  if (storedConsent) window.edgewise.push(['setConsent', purposesOf(storedConsent)]);

  // ------------------------------------------------------------------ small helpers

  function $(sel) {
    return document.querySelector(sel);
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === false || v === null || v === undefined) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function money(n) {
    return `$${n.toFixed(n % 1 ? 2 : 0)}`;
  }

  function fmtNum(n) {
    return Number.isInteger(n) ? String(n) : n.toFixed(2);
  }

  function fmtBytes(n) {
    return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`;
  }

  function fmtTime(ms) {
    const d = new Date(ms);
    return d.toTimeString().slice(0, 8);
  }

  function safeStorage(kind) {
    try {
      return window[kind] || null;
    } catch {
      return null;
    }
  }

  function readJson(kind, key) {
    const st = safeStorage(kind);
    if (!st) return null;
    try {
      const text = st.getItem(key);
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  }

  function writeJson(kind, key, value) {
    const st = safeStorage(kind);
    if (!st) return;
    try {
      if (value === null) st.removeItem(key);
      else st.setItem(key, JSON.stringify(value));
    } catch {
      // Storage full or blocked: the site keeps working without it.
    }
  }

  function readConsent() {
    const c = readJson('localStorage', CONSENT_KEY);
    return c && typeof c === 'object' && PURPOSES.every((p) => typeof c[p] === 'boolean') ? c : null;
  }

  function purposesOf(c) {
    const out = {};
    for (const p of PURPOSES) out[p] = !!c[p];
    return out;
  }

  function describeEvent(e) {
    const p = e.item_id && BY_ID.get(e.item_id);
    switch (e.kind) {
      case 'product_view':
      case 'add_to_cart':
      case 'remove_from_cart':
        return [p ? p.name : e.item_id, e.category, typeof e.price === 'number' ? money(e.price) : null].filter(Boolean).join(' · ');
      case 'search':
        return `“${e.query}”`;
      case 'purchase':
        return typeof e.price === 'number' ? `order of ${money(e.price)}` : 'order placed';
      case 'scroll':
        return `${Math.round(e.value * 100)}% down the page`;
      case 'dwell':
        return `${e.value} s on the page`;
      case 'page_view':
        return location.pathname + location.search;
      case 'custom':
        return `${e.name} = ${e.value}`;
      default:
        return '';
    }
  }

  let toastTimer = 0;
  function toast(text) {
    const t = $('#toast');
    if (!t) return;
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      t.hidden = true;
    }, 3200);
  }

  // ------------------------------------------------------------------ cart

  const cart = loadCart();

  function loadCart() {
    const c = readJson('sessionStorage', CART_KEY);
    const lines = c && Array.isArray(c.lines) ? c.lines.filter((l) => BY_ID.has(l.id) && l.qty > 0) : [];
    return { lines, code: c && c.code === 'WELCOME10' ? 'WELCOME10' : null, freeShipping: !!(c && c.freeShipping) };
  }

  function saveCart() {
    writeJson('sessionStorage', CART_KEY, cart);
    renderCartCount();
  }

  function cartCount() {
    return cart.lines.reduce((n, l) => n + l.qty, 0);
  }

  function totals() {
    const subtotal = cart.lines.reduce((n, l) => n + BY_ID.get(l.id).price * l.qty, 0);
    const discount = cart.code ? Math.round(subtotal * 10) / 100 : 0;
    const shipping = subtotal === 0 || cart.freeShipping || subtotal >= 150 ? 0 : 7.95;
    return { subtotal, discount, shipping, total: Math.round((subtotal - discount + shipping) * 100) / 100 };
  }

  function addToCart(p) {
    const line = cart.lines.find((l) => l.id === p.id);
    if (line) line.qty += 1;
    else cart.lines.push({ id: p.id, qty: 1 });
    saveCart();
    ew('track', { kind: 'add_to_cart', category: p.category, price: p.price, item_id: p.id });
    toast(`Added ${p.name} to your cart`);
    const btn = $('#cart-button');
    if (btn) {
      btn.classList.remove('bump');
      void btn.offsetWidth; // restart the animation
      btn.classList.add('bump');
    }
    if (route().name === 'cart') renderCart();
  }

  function removeFromCart(p) {
    const i = cart.lines.findIndex((l) => l.id === p.id);
    if (i < 0) return;
    cart.lines.splice(i, 1);
    saveCart();
    ew('track', { kind: 'remove_from_cart', category: p.category, price: p.price, item_id: p.id });
    renderCart();
  }

  function renderCartCount() {
    const n = cartCount();
    const el = $('#cart-count');
    if (el) {
      el.textContent = String(n);
      el.classList.toggle('is-empty', n === 0);
    }
  }

  // ------------------------------------------------------------------ routes

  function route() {
    const path = location.pathname.replace(/\/+$/, '') || '/';
    const q = new URLSearchParams(location.search).get('q') || '';
    if (path === '/cart') return { name: 'cart' };
    const m = /^\/gear\/([a-z]+)(?:\/([a-z0-9-]+))?$/.exec(path);
    if (m && CATEGORIES[m[1]]) {
      if (m[2]) {
        const p = BY_SLUG.get(m[2]);
        return p ? { name: 'product', product: p, category: m[1] } : { name: 'list', category: m[1], q };
      }
      return { name: 'list', category: m[1], q };
    }
    return { name: 'list', category: 'all', q };
  }

  function navigate(url) {
    if (url === location.pathname + location.search) return;
    history.pushState({}, '', url);
    onRoute(true);
  }

  /** Renders the current route; after a navigation the slots are decided again. */
  function onRoute(navigated) {
    const r = route();
    render(r);
    window.scrollTo(0, 0);
    if (r.name === 'product') {
      ew('track', { kind: 'product_view', category: r.product.category, price: r.product.price, item_id: r.product.id });
    }
    // An SPA re-renders its views on navigation; tell edgewise to decide the slots again
    // with what this visit has done so far.
    if (navigated) ew('refresh');
  }

  function render(r) {
    for (const a of document.querySelectorAll('#nav a')) {
      const on = r.name === 'list' ? a.getAttribute('data-cat') === r.category && !r.q : r.name === 'product' && a.getAttribute('data-cat') === r.category;
      a.classList.toggle('is-active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    $('#hero').hidden = r.name !== 'list';
    $('#view-list').hidden = r.name !== 'list';
    $('#view-product').hidden = r.name !== 'product';
    $('#view-cart').hidden = r.name !== 'cart';
    const search = $('#search');
    if (search && document.activeElement !== search) search.value = r.q || '';
    if (r.name === 'list') renderList(r);
    else if (r.name === 'product') renderProduct(r.product);
    else renderCart();
    document.title = `${r.name === 'product' ? r.product.name : r.name === 'cart' ? 'Cart' : r.category === 'all' ? 'All gear' : CATEGORIES[r.category].title} — Ridgeline Outfitters`;
  }

  function matches(p, q) {
    if (!q) return true;
    const hay = `${p.name} ${p.category} ${CATEGORIES[p.category].label} ${p.tagline} ${p.details.join(' ')}`.toLowerCase();
    return q
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((w) => hay.includes(w) || hay.includes(w.replace(/s$/, '')));
  }

  function productImage(p, size) {
    const wrap = h('div', { class: `thumb tone-${p.tone}${size ? ` thumb-${size}` : ''}` });
    wrap.append(h('img', { src: `/demo/${p.image}.svg`, alt: '', width: 200, height: 140, loading: 'lazy' }));
    return wrap;
  }

  function renderList(r) {
    const list = PRODUCTS.filter((p) => (r.category === 'all' || p.category === r.category) && matches(p, r.q));
    $('#list-title').textContent = r.q ? `Results for “${r.q}”` : r.category === 'all' ? 'All gear' : CATEGORIES[r.category].title;
    $('#list-count').textContent = `${list.length} product${list.length === 1 ? '' : 's'}`;
    $('#list-empty').hidden = list.length > 0;
    const box = $('#products');
    box.textContent = '';
    for (const p of list) {
      const href = `/gear/${p.category}/${p.slug}`;
      const card = h(
        'article',
        { class: 'card', 'data-product': p.id },
        h('a', { class: 'card-media', href, 'data-nav': true, tabindex: '-1', 'aria-hidden': 'true' }, productImage(p)),
        h(
          'div',
          { class: 'card-body' },
          h('p', { class: 'card-cat', text: CATEGORIES[p.category].label }),
          h('h3', { class: 'card-title' }, h('a', { href, 'data-nav': true, text: p.name })),
          h('p', { class: 'card-tagline', text: p.tagline }),
        ),
        h(
          'div',
          { class: 'card-foot' },
          h('span', { class: 'price', text: money(p.price) }),
          h('button', { class: 'btn btn-quiet btn-sm btn-view', type: 'button', 'data-action': 'view', 'data-id': p.id, 'aria-label': `View ${p.name}`, text: 'View' }),
          h('button', { class: 'btn btn-primary btn-sm btn-add', type: 'button', 'data-action': 'add', 'data-id': p.id, text: 'Add to cart' }),
        ),
      );
      box.append(card);
    }
  }

  function renderProduct(p) {
    const v = $('#view-product');
    v.textContent = '';
    const related = PRODUCTS.filter((x) => x.category === p.category && x.id !== p.id);
    v.append(
      h(
        'nav',
        { class: 'crumbs small', 'aria-label': 'Breadcrumb' },
        h('a', { href: '/', 'data-nav': true, text: 'All gear' }),
        ' / ',
        h('a', { href: `/gear/${p.category}`, 'data-nav': true, text: CATEGORIES[p.category].title }),
      ),
      h(
        'div',
        { class: 'pdp' },
        productImage(p, 'large'),
        h(
          'div',
          { class: 'pdp-info' },
          h('p', { class: 'card-cat', text: CATEGORIES[p.category].label }),
          h('h2', { class: 'pdp-title', id: 'product-title', text: p.name }),
          h('p', { class: 'pdp-price', text: money(p.price) }),
          h('p', { class: 'pdp-tagline', text: p.tagline }),
          h('ul', { class: 'pdp-details' }, ...p.details.map((d) => h('li', { text: d }))),
          h(
            'div',
            { class: 'pdp-actions' },
            h('button', { class: 'btn btn-primary', id: 'pdp-add', type: 'button', 'data-action': 'add', 'data-id': p.id, text: 'Add to cart' }),
            h('a', { class: 'btn btn-ghost', href: `/gear/${p.category}`, 'data-nav': true, text: `More ${CATEGORIES[p.category].label.toLowerCase()}` }),
          ),
          h('p', { class: 'small muted', text: 'Free returns for 60 days. Ships in 1–2 working days.' }),
        ),
      ),
    );
    if (related.length) {
      v.append(
        h(
          'div',
          { class: 'related' },
          h('h3', { text: 'You might also like' }),
          ...related.map((x) =>
            h(
              'a',
              { class: 'related-item', href: `/gear/${x.category}/${x.slug}`, 'data-nav': true },
              productImage(x, 'small'),
              h('span', { text: x.name }),
              h('span', { class: 'price', text: money(x.price) }),
            ),
          ),
        ),
      );
    }
  }

  function renderCart() {
    const lines = $('#cart-lines');
    lines.textContent = '';
    if (cart.lines.length === 0) {
      lines.append(h('li', { class: 'cart-empty' }, 'Your cart is empty. ', h('a', { href: '/', 'data-nav': true, text: 'Browse the gear' })));
    }
    for (const l of cart.lines) {
      const p = BY_ID.get(l.id);
      lines.append(
        h(
          'li',
          { class: 'cart-line', 'data-product': p.id },
          productImage(p, 'small'),
          h('div', { class: 'cart-line-info' }, h('strong', { text: p.name }), h('span', { class: 'small muted', text: `${CATEGORIES[p.category].label} · qty ${l.qty}` })),
          h('span', { class: 'price', text: money(p.price * l.qty) }),
          h('button', { class: 'linklike small', type: 'button', 'data-action': 'remove', 'data-id': p.id, text: 'Remove' }),
        ),
      );
    }
    const t = totals();
    const dl = $('#cart-totals');
    dl.textContent = '';
    const row = (k, v, cls) => dl.append(h('div', { class: cls || '' }, h('dt', { text: k }), h('dd', { text: v })));
    row('Subtotal', money(t.subtotal));
    if (t.discount) row('WELCOME10', `−${money(t.discount)}`, 'is-discount');
    row('Shipping', t.subtotal === 0 ? '—' : t.shipping ? money(t.shipping) : 'Free');
    row('Total', money(t.total), 'is-total');
    const empty = cart.lines.length === 0;
    if (empty) $('#pay').hidden = true;
    $('#checkout').disabled = empty;
    $('#checkout').hidden = !$('#pay').hidden;
  }

  function startCheckout() {
    if (cart.lines.length === 0) return;
    ew('track', { kind: 'checkout_start' });
    $('#pay').hidden = false;
    $('#checkout').hidden = true;
    $('#order-done').hidden = true;
  }

  function placeOrder() {
    const t = totals();
    if (t.subtotal === 0) return;
    // `price` carries the money; `value` is only for scroll, dwell and custom events.
    ew('track', { kind: 'purchase', price: t.total });
    cart.lines = [];
    cart.code = null;
    cart.freeShipping = false;
    saveCart();
    $('#pay').hidden = true;
    renderCart();
    const done = $('#order-done');
    done.textContent = `Thank you! Order of ${money(t.total)} placed (demo — nothing is charged).`;
    done.hidden = false;
    toast('Order placed');
  }

  function onOfferClick() {
    // The include counts the click as the offer's reward; here the site acts on it.
    const variant = $('#offer').getAttribute('data-ew-variant') || 'none';
    if (variant === 'discount') {
      cart.code = 'WELCOME10';
      saveCart();
      toast('Code WELCOME10 applied: 10% off your order');
      if (route().name === 'cart') renderCart();
    } else if (variant === 'free-shipping') {
      cart.freeShipping = true;
      saveCart();
      navigate('/cart');
    } else {
      toast('Thanks — early access is on its way to your inbox');
    }
  }

  // ------------------------------------------------------------------ consent banner

  function showBanner(customize) {
    const b = $('#consent-banner');
    b.hidden = false;
    setCustomize(!!customize);
    const c = readConsent();
    for (const p of PURPOSES) $(`#purpose-${p}`).checked = c ? !!c[p] : false;
  }

  function setCustomize(on) {
    $('#consent-custom').hidden = !on;
    $('#consent-save').hidden = !on;
    $('#consent-customize').hidden = on;
    $('#consent-accept').hidden = false;
  }

  function choose(purposes, how) {
    writeJson('localStorage', CONSENT_KEY, { ...purposes, at: Date.now(), v: 1 });
    ew('setConsent', purposes);
    $('#consent-banner').hidden = true;
    toast(how);
    schedulePanel();
  }

  function withdrawConsent() {
    ew('withdraw');
    writeJson('localStorage', CONSENT_KEY, null);
    showBanner(false);
    toast('Consent withdrawn: what edgewise stored about you is deleted');
    schedulePanel();
  }

  // ------------------------------------------------------------------ panel

  let panelTimer = 0;
  function schedulePanel() {
    if (panelTimer) return;
    panelTimer = setTimeout(() => {
      panelTimer = 0;
      renderPanel();
    }, 30);
  }

  function renderPanel() {
    if (!$('#panel')) return;
    const a = api();
    const ready = state.ready;
    const running = !!(a && ready && ready.ok);
    const info = running ? a.inspect() : null;
    renderStatus(running, info);
    renderSlots(info);
    renderScores(info);
    renderConsent(info);
    renderEvents();
    renderSync(info);
  }

  function renderStatus(running, info) {
    const el = $('#panel-status');
    const text = $('#panel-status-text');
    const ready = state.ready;
    let st = 'pending';
    if (running) {
      st = 'running';
      const st2 = info && info.state;
      const bits = [`edgewise ${ready.version} (${ready.build}) running`, `ready in ${ready.ms} ms`];
      if (st2 && st2.models) bits.push(`${st2.models.length} models`);
      if (st2 && st2.holdout) bits.push('this visitor is in the holdout group (defaults only)');
      text.textContent = bits.join(' · ');
    } else if (ready && !ready.ok) {
      st = 'failed';
      text.textContent = `edgewise is not running: ${ready.error}. The store works without it and shows its default content.`;
    } else if (state.loadFailed) {
      st = 'failed';
      text.textContent = `edgewise is not running: ${state.loadFailed}. The store works without it and shows its default content.`;
    } else {
      text.textContent = 'Loading edgewise…';
    }
    el.setAttribute('data-state', st);
    $('#panel').setAttribute('data-ew-ready', st === 'running' ? 'true' : st === 'failed' ? 'false' : 'pending');
    $('#redecide').disabled = !running;
    $('#flush').disabled = !running;
    const errs = $('#panel-errors');
    errs.textContent = '';
    // The load failure is already the status line; list the other problems.
    const failure = ready && !ready.ok ? String(ready.error) : null;
    const others = state.errors.filter((m) => !failure || !m.startsWith(failure));
    for (const m of others.slice(-3)) errs.append(h('li', { text: m }));
    errs.hidden = others.length === 0;
  }

  function slotVariants(slot, d) {
    const cfg = state.engineConfig;
    const sc = cfg && Array.isArray(cfg.slots) ? cfg.slots.find((x) => x && x.id === slot) : null;
    if (sc && Array.isArray(sc.variants)) return sc.variants.map((v) => ({ id: v.id, rule: v.eligibility || null, isDefault: v.id === sc.default }));
    const ids = d && d.arms ? d.arms.map((x) => x.variant_id) : d ? [d.variant_id] : [];
    return ids.map((id) => ({ id, rule: null, isDefault: false }));
  }

  function renderSlots(info) {
    const box = $('#panel-slots');
    box.textContent = '';
    const decisions = info ? info.decisions : state.decisions;
    for (const slot of SLOTS) {
      const d = decisions[slot] || null;
      const variants = slotVariants(slot, d);
      const sec = h('div', { class: 'slot', 'data-slot': slot });
      const head = h('div', { class: 'slot-head' }, h('code', { text: slot }));
      if (d) {
        head.append(
          h('span', { class: `badge src-${d.source}`, text: d.source.replace('_', ' '), title: 'where the decision came from' }),
          h('span', { class: 'muted small', text: `p = ${d.probability.toFixed(2)}` }),
        );
      } else {
        head.append(h('span', { class: 'badge src-none', text: state.ready && !state.ready.ok ? 'default' : 'waiting' }));
      }
      sec.append(head, slotChart(slot, variants, d));
      if (d && d.reasons && d.reasons.length) {
        const why = h('details', { class: 'why' }, h('summary', { text: 'Why this variant?' }));
        const ul = h('ul');
        for (const r of d.reasons) ul.append(h('li', { text: r }));
        why.append(ul);
        sec.append(why);
      }
      box.append(sec);
    }
  }

  function notEligible(d, id) {
    return !!(d && d.reasons && d.reasons.some((r) => r.startsWith(`"${id}" not eligible`) || r.startsWith(`"${id}" capped`) || (r.includes(`"${id}"`) && /cap/.test(r))));
  }

  function slotChart(slot, variants, d) {
    const W = 352;
    const rowH = 34;
    const labelW = 112;
    const valueW = 70;
    const barX = labelW;
    const barW = W - labelW - valueW;
    const H = Math.max(1, variants.length) * rowH + 2;
    const svg = s('svg', { class: 'slot-chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${slot}: variant probabilities` });
    const arms = new Map(((d && d.arms) || []).map((x) => [x.variant_id, x]));
    variants.forEach((v, i) => {
      const y = i * rowH;
      const chosen = d && d.variant_id === v.id;
      const g = s('g', { class: `arm${chosen ? ' is-chosen' : ''}`, 'data-variant': v.id });
      const label = s('text', { x: 0, y: y + 12, class: 'arm-label' }, `${chosen ? '● ' : ''}${v.id}`);
      if (v.rule) label.append(s('title', {}, `eligible when ${v.rule}`));
      g.append(label);
      const t = (state.tally[slot] || {})[v.id];
      g.append(s('text', { x: 0, y: y + 26, class: 'arm-tally' }, t ? `${t.shown} shown · ${fmtNum(t.reward)} won` : v.isDefault ? 'default' : ''));
      g.append(s('rect', { x: barX, y: y + 3, width: barW, height: 11, rx: 2, class: 'track' }));
      let p = null;
      let est = null;
      if (arms.size) {
        const arm = arms.get(v.id);
        if (arm) {
          p = arm.probability;
          if (typeof arm.estimate === 'number') est = arm.estimate;
        }
      } else if (d) {
        // No policy ran (no consent, default, rule, holdout): the choice was certain.
        p = chosen ? d.probability : notEligible(d, v.id) ? null : 0;
      }
      if (p !== null) {
        g.append(s('rect', { x: barX, y: y + 3, width: Math.max(p > 0 ? 1.5 : 0, p * barW), height: 11, rx: 2, class: 'bar-prob' }));
        g.append(s('text', { x: barX + barW + 6, y: y + 12, class: 'arm-value' }, `${(p * 100).toFixed(p > 0 && p < 0.1 ? 1 : 0)}%`));
      } else {
        const why = d && notEligible(d, v.id) ? 'not eligible' : d ? 'not offered' : '';
        g.append(s('text', { x: barX + 4, y: y + 12, class: 'arm-na' }, why));
      }
      g.append(s('rect', { x: barX, y: y + 18, width: barW, height: 5, rx: 1.5, class: 'track track-thin' }));
      if (est !== null) {
        const e = Math.min(1, Math.max(0, est));
        g.append(s('rect', { x: barX, y: y + 18, width: Math.max(e > 0 ? 1.5 : 0, e * barW), height: 5, rx: 1.5, class: 'bar-est' }));
        g.append(s('text', { x: barX + barW + 6, y: y + 25, class: 'arm-est' }, `est ${est.toFixed(3)}`));
      }
      svg.append(g);
    });
    return svg;
  }

  function renderScores(info) {
    const box = $('#panel-scores');
    box.textContent = '';
    const scores = info && info.scores;
    const names = scores ? Object.keys(scores).sort() : [];
    if (!names.length) {
      box.append(h('p', { class: 'muted small', text: info ? 'No scores yet.' : 'No models running.' }));
      return;
    }
    for (const name of names) {
      const v = scores[name];
      const fill = h('span', { class: `score-fill score-${name}` });
      fill.style.width = `${Math.max(0, Math.min(1, v)) * 100}%`;
      box.append(
        h(
          'div',
          { class: 'score', 'data-score': name },
          h('span', { class: 'score-name', text: name }),
          h('span', { class: 'score-track' }, fill),
          h('span', { class: 'score-value', text: v.toFixed(3) }),
        ),
      );
    }
    box.append(h('p', { class: 'muted small', text: `Models: ${((info.state && info.state.models) || []).join(', ')}; ${info.state ? info.state.events : 0} events in the session.` }));
  }

  function renderConsent(info) {
    const box = $('#panel-consent');
    box.textContent = '';
    const r = info && info.receipt;
    if (!r) {
      const c = readConsent();
      box.append(h('p', { class: 'muted small', text: c ? `Site choice stored (${PURPOSES.filter((p) => c[p]).join(', ') || 'nothing allowed'}); edgewise is not running.` : 'No choice yet; edgewise is not running.' }));
      return;
    }
    const table = h('table', { class: 'consent-table' });
    for (const key of [...PURPOSES, 'session_personalization']) {
      const pr = r[key] || { allowed: false };
      const who = [];
      if (pr.by && pr.by.length) who.push(`by ${pr.by.join(', ')}`);
      if (pr.denied_by && pr.denied_by.length) who.push(`denied by ${pr.denied_by.join(', ')}`);
      table.append(
        h(
          'tr',
          { 'data-purpose': key, 'data-allowed': pr.allowed ? 'true' : 'false' },
          h('th', { scope: 'row', text: PURPOSE_LABELS[key] }),
          h('td', null, h('span', { class: `pill ${pr.allowed ? 'pill-yes' : 'pill-no'}`, text: pr.allowed ? 'allowed' : 'denied' })),
          h('td', { class: 'muted', text: who.join('; ') }),
        ),
      );
    }
    box.append(table);
    const src = r.sources && r.sources.length ? `Sources: ${r.sources.join(', ')}` : 'No source has spoken: the config default applies';
    const when = typeof r.at_ms === 'number' ? ` · changed ${fmtTime(r.at_ms)}` : '';
    box.append(h('p', { class: 'small muted', text: src + when }));
    if (r.tcf) box.append(h('p', { class: 'small muted', text: r.tcf.error ? `TCF string rejected: ${r.tcf.error}` : `TCF: CMP ${r.tcf.cmp_id}, vendor list v${r.tcf.vendor_list_version}` }));
    const key = info.storageKey;
    let where = 'nothing stored on this device';
    for (const kind of ['localStorage', 'sessionStorage']) {
      const st = safeStorage(kind);
      let v = null;
      try {
        v = st && st.getItem(key);
      } catch {
        v = null;
      }
      if (v) {
        where = `state in ${kind}["${key}"], ${fmtBytes(v.length)}`;
        break;
      }
    }
    box.append(h('p', { class: 'small muted', id: 'panel-storage', text: `Storage: ${where}` }));
  }

  function renderEvents() {
    const ol = $('#panel-events');
    ol.textContent = '';
    if (!state.log.length) {
      ol.append(h('li', { class: 'muted small empty-row', text: 'Nothing yet: browse the store.' }));
      return;
    }
    for (const e of state.log.slice(0, 40)) {
      ol.append(
        h(
          'li',
          { class: e.cls, 'data-kind': e.kind },
          h('span', { class: 'ev-time', text: fmtTime(e.t) }),
          h('span', { class: 'ev-kind', text: e.kind }),
          h('span', { class: 'ev-text', text: e.text }),
        ),
      );
    }
  }

  function renderSync(info) {
    const box = $('#panel-sync');
    box.textContent = '';
    if (!info) {
      box.append(h('p', { class: 'muted small', text: 'Nothing: edgewise is not running, so nothing is collected or sent.' }));
      return;
    }
    const r = info.sync;
    if (r && r.ok) {
      let pretty = r.payload;
      try {
        pretty = JSON.stringify(JSON.parse(r.payload), null, 2);
      } catch {
        // show it as it came
      }
      box.append(
        h('p', { class: 'gate gate-ok', 'data-gate': 'ok' }, h('strong', { text: 'Released' }), ` — the profile payload (${fmtBytes(r.payload.length)}):`),
        h('pre', { class: 'payload', id: 'sync-payload', text: pretty }),
      );
    } else if (r) {
      const ref = r.refusal || {};
      box.append(h('p', { class: 'gate gate-no', 'data-gate': 'refused' }, h('strong', { text: 'Refused' }), ` — ${ref.message || ref.code || 'no payload'}`));
    }
    const m = info.measurement;
    if (m) {
      box.append(
        h(
          'p',
          { class: 'small muted', id: 'measurement-gate' },
          m.ok ? `Measurement: released (${fmtBytes(m.payload.length)} of aggregated outcomes).` : `Measurement: refused — ${(m.refusal && m.refusal.message) || 'not allowed'}`,
        ),
      );
    }
  }

  // ------------------------------------------------------------------ simulation

  function updateSimButton() {
    const b = $('#simulate');
    if (!b) return;
    const n = Number($('#sim-visitors').value);
    if (!b.classList.contains('is-busy')) b.textContent = `Simulate ${n.toLocaleString('en-US')} visitors`;
    const a = api();
    const ok = !!(a && a.module && typeof a.module.simulate === 'function');
    b.disabled = !ok || b.classList.contains('is-busy');
    b.title = ok ? '' : 'needs the running edgewise module';
    $('#sim-policy-name').textContent = `bandit (${SIM_POLICY_NAMES[$('#sim-policy').value] || $('#sim-policy').value})`;
  }

  async function loadSpec() {
    if (state.spec) return state.spec;
    const r = await fetch('/models/storefront-v1.features.json', { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`feature spec: HTTP ${r.status}`);
    state.spec = await r.json();
    return state.spec;
  }

  async function runSimulation() {
    const a = api();
    const b = $('#simulate');
    const summary = $('#sim-summary');
    const detail = $('#sim-detail');
    if (!a || !a.module || typeof a.module.simulate !== 'function') {
      summary.textContent = 'The simulation needs the edgewise module, which is not running.';
      return;
    }
    const visitors = Number($('#sim-visitors').value);
    const slot = $('#sim-slot').value;
    const policy = $('#sim-policy').value;
    b.classList.add('is-busy');
    b.disabled = true;
    b.textContent = `Simulating ${visitors.toLocaleString('en-US')} visitors…`;
    $('#sim').setAttribute('data-state', 'running');
    try {
      const spec = await loadSpec();
      // Let the button repaint before the (short) synchronous run.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      state.simRuns += 1;
      const seed = state.simRuns;
      const t0 = performance.now();
      const res = a.module.simulate({ spec, tags: SIM_TAGS[slot], visitors, seed, policy: { kind: policy }, points: 100 });
      const ms = Math.round(performance.now() - t0);
      drawSim(res);
      const bandit = res.expected_reward / res.visitors;
      const ab = res.uniform_expected_reward / res.visitors;
      const oracle = res.oracle_expected_reward / res.visitors;
      const lift = ab > 0 ? (bandit / ab - 1) * 100 : 0;
      const name = SIM_POLICY_NAMES[policy] || policy;
      summary.textContent = `${name} bandit ${pct(bandit)} vs A/B ${pct(ab)}: ${lift >= 0 ? '+' : '−'}${Math.abs(lift).toFixed(lift > -10 && lift < 10 ? 1 : 0)}%`;
      summary.setAttribute('data-lift', lift.toFixed(2));
      detail.textContent =
        `${res.visitors.toLocaleString('en-US')} simulated visitors, ${slot} variants (${SIM_TAGS[slot].join(', ')}), seed ${seed}; ` +
        `oracle ceiling ${pct(oracle)}; expected conversions ${res.expected_reward.toFixed(1)} vs ${res.uniform_expected_reward.toFixed(1)}. ` +
        `Ran in this tab in ${ms} ms. Run again for another seed.`;
      $('#sim').setAttribute('data-state', 'done');
    } catch (e) {
      summary.textContent = `Simulation failed: ${(e && e.message) || e}`;
      $('#sim').setAttribute('data-state', 'failed');
    } finally {
      b.classList.remove('is-busy');
      updateSimButton();
    }
  }

  function pct(x) {
    return `${(x * 100).toFixed(1)}%`;
  }

  function niceStep(max, ticks) {
    const raw = max / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
    return 10 * mag;
  }

  function drawSimFrame(svg, xMax, yMax, yMin = 0, yStep = 0) {
    const W = 360;
    const H = 210;
    const m = { l: 40, r: 10, t: 10, b: 30 };
    const iw = W - m.l - m.r;
    const ih = H - m.t - m.b;
    const x = (v) => m.l + (v / xMax) * iw;
    const y = (v) => m.t + ih - ((v - yMin) / (yMax - yMin)) * ih;
    const step = yStep || niceStep(yMax - yMin, 4);
    const n = Math.round((yMax - yMin) / step);
    for (let i = 0; i <= n; i++) {
      const v = yMin + i * step;
      svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(s('text', { x: m.l - 6, y: y(v) + 3.5, class: 'tick tick-y' }, `${(v * 100).toFixed(step * 100 < 0.999 ? 1 : 0)}%`));
    }
    const xs = niceStep(xMax, 4);
    for (let v = 0; v <= xMax + 1e-9; v += xs) {
      svg.append(s('line', { x1: x(v), x2: x(v), y1: m.t + ih, y2: m.t + ih + 4, class: 'axis' }));
      svg.append(s('text', { x: x(v), y: m.t + ih + 15, class: 'tick tick-x' }, v >= 1000 ? `${v / 1000}k` : String(v)));
    }
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: m.t + ih, y2: m.t + ih, class: 'axis' }));
    svg.append(s('text', { x: m.l + iw / 2, y: H - 3, class: 'axis-title' }, 'visitors'));
    svg.append(s('text', { x: 11, y: m.t + ih / 2, class: 'axis-title', transform: `rotate(-90 11 ${m.t + ih / 2})` }, 'conversion rate so far'));
    return { x, y, m, iw, ih };
  }

  function drawSim(res) {
    const svg = $('#sim-chart');
    svg.textContent = '';
    const pts = (res.curve || []).filter((p) => p.visitors > 0);
    if (!pts.length) return;
    // Skip the first few percent: a rate over a handful of visitors is noise.
    const from = Math.max(1, Math.round(res.visitors * 0.02));
    const shown = pts.filter((p) => p.visitors >= from);
    const rate = (p, k) => p[k] / p.visitors;
    // A line chart of rates: the y axis spans the data (labelled), not 0..max, so the gap shows.
    const all = shown.flatMap((p) => [rate(p, 'oracle'), rate(p, 'policy'), rate(p, 'uniform')]);
    const hi = Math.max(...all);
    const lo = Math.min(...all);
    const step = niceStep(Math.max(hi - lo, 0.005) * 1.2, 4);
    const yMin = Math.max(0, Math.floor((lo - step * 0.25) / step) * step);
    const yMax = Math.ceil((hi + step * 0.25) / step) * step;
    const f = drawSimFrame(svg, res.visitors, yMax, yMin, step);
    const line = (k, cls) => {
      const d = shown.map((p, i) => `${i ? 'L' : 'M'}${f.x(p.visitors).toFixed(1)},${f.y(rate(p, k)).toFixed(1)}`).join('');
      svg.append(s('path', { d, class: `curve ${cls}`, 'data-series': k }));
    };
    line('oracle', 'curve-oracle');
    line('uniform', 'curve-uniform');
    line('policy', 'curve-bandit');
    const last = shown[shown.length - 1];
    const lx = f.x(last.visitors);
    for (const [k, cls] of [
      ['policy', 'end-bandit'],
      ['uniform', 'end-uniform'],
    ]) {
      svg.append(s('circle', { cx: lx, cy: f.y(rate(last, k)), r: 3, class: cls }));
    }
  }

  function drawSimEmpty() {
    const svg = $('#sim-chart');
    if (!svg) return;
    svg.textContent = '';
    drawSimFrame(svg, 1000, 0.08);
    svg.append(s('text', { x: 205, y: 92, class: 'placeholder' }, 'Run a simulation to see'));
    svg.append(s('text', { x: 205, y: 108, class: 'placeholder' }, 'the bandit learn'));
  }

  // ------------------------------------------------------------------ wiring

  async function loadEngineConfig() {
    // The slot definitions (variants, rules) for the panel, from the same config the include reads.
    try {
      const site = await (await fetch('/edgewise/config.json', { credentials: 'same-origin' })).json();
      const eng = typeof site.engine === 'string' ? await (await fetch(new URL(site.engine, location.href).href, { credentials: 'same-origin' })).json() : site.engine;
      if (eng && Array.isArray(eng.slots)) {
        state.engineConfig = eng;
        schedulePanel();
      }
    } catch {
      // The panel falls back to the variants the decisions name.
    }
  }

  function showLayoutName() {
    const el = $('#layout-name');
    const box = $('#products');
    if (el && box) el.textContent = box.classList.contains('ew-list') ? 'list' : 'grid';
  }

  function setPanelOpen(open, remember) {
    document.body.classList.toggle('panel-open', open);
    document.body.classList.toggle('panel-collapsed', !open);
    const t = $('#panel-toggle');
    t.setAttribute('aria-expanded', String(open));
    t.title = open ? 'Hide the panel' : 'Show the edgewise panel';
    if (remember) writeJson('localStorage', PANEL_KEY, open ? 'open' : 'collapsed');
  }

  function onClick(ev) {
    const t = ev.target;
    if (!(t instanceof Element)) return;
    const act = t.closest('[data-action]');
    if (act) {
      const p = BY_ID.get(act.getAttribute('data-id'));
      const what = act.getAttribute('data-action');
      if (p && what === 'add') addToCart(p);
      else if (p && what === 'view') navigate(`/gear/${p.category}/${p.slug}`);
      else if (p && what === 'remove') removeFromCart(p);
      return;
    }
    const a = t.closest('a[data-nav]');
    if (a && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && ev.button === 0) {
      ev.preventDefault();
      const url = new URL(a.href);
      navigate(url.pathname + url.search);
    }
  }

  function init() {
    // The include's debug overlay (?ew_debug=1) sits bottom-left, where the banner lives.
    if (/[?&]ew_debug=1\b/.test(location.search)) document.body.classList.add('ew-debug');
    renderCartCount();
    onRoute(false);
    showLayoutName();
    drawSimEmpty();
    updateSimButton();
    renderPanel();
    loadEngineConfig();

    const panelPref = readJson('localStorage', PANEL_KEY);
    // Open by default beside the store; on a narrow screen it would cover it, so it starts closed.
    setPanelOpen(panelPref ? panelPref !== 'collapsed' : window.innerWidth > 900, false);

    document.addEventListener('click', onClick);
    // After the include's own popstate handler, so its page_view comes before this view's events.
    window.addEventListener('popstate', () => setTimeout(() => onRoute(true), 0));
    $('#search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = $('#search').value.trim().slice(0, 80);
      if (!q) {
        navigate('/');
        return;
      }
      ew('track', { kind: 'search', query: q });
      navigate(`/?q=${encodeURIComponent(q)}`);
    });
    $('#offer-cta').addEventListener('click', onOfferClick);
    $('#checkout').addEventListener('click', startCheckout);
    $('#place-order').addEventListener('click', placeOrder);

    $('#consent-accept').addEventListener('click', () => choose({ storage: true, personalization: true, measurement: true, profile_sync: true }, 'Thanks — personalization is on'));
    $('#consent-reject').addEventListener('click', () => choose({ storage: false, personalization: false, measurement: false, profile_sync: false }, 'Nothing personalized, nothing stored'));
    $('#consent-customize').addEventListener('click', () => setCustomize(true));
    $('#consent-save').addEventListener('click', () => {
      const p = {};
      for (const k of PURPOSES) p[k] = $(`#purpose-${k}`).checked;
      choose(p, 'Your choices are saved');
    });
    $('#consent-manage').addEventListener('click', () => showBanner(true));
    $('#consent-withdraw').addEventListener('click', withdrawConsent);
    if (!readConsent()) showBanner(false);

    $('#panel-toggle').addEventListener('click', () => setPanelOpen(!document.body.classList.contains('panel-open'), true));
    $('#redecide').addEventListener('click', () => {
      ew('refresh');
      pushLog('refresh', 'slots decided again', 'is-consent');
    });
    $('#flush').addEventListener('click', () => {
      const r = ew('flush');
      const out = $('#flush-result');
      if (!r) {
        out.textContent = 'edgewise is not running.';
        return;
      }
      const part = (k) => (r[k] && r[k].ok ? `${k} sent` : `${k} refused`);
      out.textContent = `${part('sync')}, ${part('measurement')}`;
      schedulePanel();
    });
    $('#simulate').addEventListener('click', runSimulation);
    $('#sim-visitors').addEventListener('change', updateSimButton);
    $('#sim-policy').addEventListener('change', updateSimButton);

    // Observe the layout slot's class: edgewise puts ew-grid or ew-list on it.
    new MutationObserver(showLayoutName).observe($('#products'), { attributes: true, attributeFilter: ['class'] });

    // An include that never ran (blocked or 404) leaves `window.edgewise` an array.
    window.addEventListener('load', () => {
      if (!api() && !state.ready) {
        state.loadFailed = 'the script /edgewise/edgewise.js did not load';
        schedulePanel();
        updateSimButton();
      }
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
