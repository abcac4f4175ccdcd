// The one escape for text the gateway writes into HTML (the status page): a model id is
// configuration, but it may hold `<`, `&` or quotes, and must show as the text it is.
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
