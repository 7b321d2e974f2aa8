// Assistant text as markdown: marked (parser) -> DOMPurify (sanitizer) -> a DOM fragment.
// Both are kept libraries vendored as ES modules (vendor/README.md); nothing the model writes
// reaches the DOM without going through DOMPurify, with an allow-list narrower than its default.

import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.mjs";

const marked = new Marked({ gfm: true, breaks: true, async: false });
// Headings inside a chat bubble would break the page's outline (h1 → h2 → h3 per message):
// a model's "## Flights" becomes a bold paragraph.
marked.use({
  renderer: {
    heading({ tokens }) {
      return `<p><strong>${this.parser.parseInline(tokens)}</strong></p>\n`;
    },
  },
});

const POLICY = {
  ALLOWED_TAGS: ["p", "br", "strong", "b", "em", "i", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "hr", "table", "thead", "tbody", "tr", "th", "td"],
  ALLOWED_ATTR: ["href", "title", "start", "align"],
  // Only web, mail and phone links: no javascript:, data:, or relative paths into our API.
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** `text` (markdown, possibly hostile) as a sanitized DocumentFragment. */
export function renderMarkdown(text) {
  return DOMPurify.sanitize(marked.parse(String(text ?? "")), POLICY);
}
