// The slot markup, rewritten with HTMLRewriter as text only:
//   data-ew-slot="<copy slot>"    → the element's content becomes the variant's text
//   data-ew-slot="<layout slot>"  → one class from the slot's own layout variants (the allow-list)
//   data-ew-slot="<offer slot>"   → children marked data-ew-field="title" / "cta" get those texts
// Every rewritten slot element gets data-ew-decision and data-ew-variant (for the reward
// beacon). Variant content never goes in as HTML (`setInnerContent(text, {html: false})`), and
// no other attribute is written.

const MARKER = new TextEncoder().encode("data-ew-slot");
// Elements whose content is not text (script, style: it runs or applies) or is parsed in a way
// of its own: a slot marker on one of them is ignored, never rewritten.
const NOT_TEXT = new Set(["script", "style", "textarea", "title", "noscript", "iframe", "xmp", "plaintext", "template", "noembed", "noframes"]);
let warnedNotText = false;
const skipNotText = (el) => {
  if (!NOT_TEXT.has(el.tagName.toLowerCase())) return false;
  if (!warnedNotText) {
    warnedNotText = true;
    console.warn(`edgewise: a data-ew-slot/data-ew-field on <${el.tagName}> is ignored (its content is not text)`);
  }
  return true;
};
const CLASS_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether the bytes contain `data-ew-slot` at all (skips the rewriter for most pages). */
export function hasSlotMarker(bytes) {
  const first = MARKER[0];
  let i = bytes.indexOf(first);
  outer: while (i !== -1 && i + MARKER.length <= bytes.length) {
    for (let k = 1; k < MARKER.length; k++) {
      if (bytes[i + k] !== MARKER[k]) {
        i = bytes.indexOf(first, i + 1);
        continue outer;
      }
    }
    return true;
  }
  return false;
}

/** Per slot id: its kind and (layout) the allowed classes; from the engine config. */
export function slotTable(config) {
  const table = new Map();
  for (const s of config.slots) {
    const kinds = new Set(s.variants.map((v) => v.kind));
    const layout = new Set(
      s.variants.filter((v) => v.kind === "layout" && CLASS_NAME.test(v.content)).map((v) => v.content),
    );
    table.set(s.id, { kinds, layout });
  }
  return table;
}

/**
 * Rewrites `bytes` (an HTML document). `decide(slot)` is called once per slot id found on the
 * page that the config knows, in document order, and returns a decision (or throws). Returns
 * `{body, decisions, errors}`; with any error the caller serves the origin's bytes instead.
 */
export async function rewriteHtml(bytes, contentType, slots, decide) {
  const decisions = new Map();
  const errors = [];
  const decisionFor = (slot) => {
    if (!slots.has(slot)) return null;
    if (decisions.has(slot)) return decisions.get(slot);
    let d = null;
    try {
      d = decide(slot);
    } catch (e) {
      errors.push(`decide(${JSON.stringify(slot)}): ${(e && e.code) || ""} ${(e && e.message) || e}`);
    }
    decisions.set(slot, d);
    return d;
  };
  const rewriter = new HTMLRewriter().on("[data-ew-slot]", {
    element(el) {
      if (skipNotText(el)) return;
      const slot = (el.getAttribute("data-ew-slot") || "").trim();
      const d = decisionFor(slot);
      if (!d) return;
      el.setAttribute("data-ew-decision", d.decision_id);
      el.setAttribute("data-ew-variant", d.variant_id);
      if (d.kind === "copy" && typeof d.content === "string") {
        el.setInnerContent(d.content, { html: false });
      } else if (d.kind === "layout") {
        const allowed = slots.get(slot).layout;
        if (typeof d.content !== "string" || !allowed.has(d.content)) return;
        const keep = (el.getAttribute("class") || "").split(/\s+/).filter((c) => c && !allowed.has(c));
        keep.push(d.content);
        el.setAttribute("class", keep.join(" "));
      }
    },
  });
  for (const [slot, info] of slots) {
    if (!info.kinds.has("offer")) continue;
    // Slot ids are [A-Za-z0-9_-] (the engine validates the config), safe inside a selector.
    rewriter.on(`[data-ew-slot="${slot}"] [data-ew-field]`, {
      element(el) {
        if (skipNotText(el)) return;
        const d = decisions.get(slot);
        if (!d || d.kind !== "offer" || !d.content || typeof d.content !== "object") return;
        const field = el.getAttribute("data-ew-field");
        if (field && Object.prototype.hasOwnProperty.call(d.content, field) && typeof d.content[field] === "string") {
          el.setInnerContent(d.content[field], { html: false });
        }
      },
    });
  }
  const headers = contentType ? { "content-type": contentType } : {};
  const body = await rewriter.transform(new Response(bytes, { headers })).arrayBuffer();
  return { body, decisions, errors };
}
