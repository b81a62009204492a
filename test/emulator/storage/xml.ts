// Just enough XML reading for the storage servers' answers (AWS query/S3
// XML, Azure Blob XML): flat element text by tag name. Their documents are
// machine-written, without CDATA or attributes we need.

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    if (e.startsWith("#x") || e.startsWith("#X")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? "";
  });
}

/** Raw inner XML of every <tag>...</tag> (attributes allowed), in document order. */
export function xmlElements(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1] ?? "");
}

/** Decoded text of the first <tag>, or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const inner = xmlElements(xml, tag)[0];
  return inner === undefined ? undefined : decodeEntities(inner);
}

/** Decoded text of every <tag>. */
export function xmlTexts(xml: string, tag: string): string[] {
  return xmlElements(xml, tag).map(decodeEntities);
}

/** Escapes text for an XML element body. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c] ?? ""};`);
}
