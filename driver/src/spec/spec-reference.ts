/**
 * The README's spec reference, generated from the schema's own documentation so that the
 * reference and the validator can never disagree. `npm run docs` writes it into README.md.
 */
import type { Decoder, KeyDoc } from "./decoders.js";
import { pipelineSchema } from "./pipeline-schema.js";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function rows(keys: readonly KeyDoc[], prefix: string, out: string[]): void {
  for (const key of keys) {
    const path = `${prefix}${key.key}`;
    const decoder: Decoder<unknown> = key.decoder;
    const element = decoder.element;
    const presence = key.presence === "required" ? "required" : key.presence === "default" ? `\`${key.defaultText}\`` : "optional";
    const type = decoder.keys !== undefined ? "mapping" : element?.keys !== undefined ? decoder.type.replace(/mapping$/, "mappings") : decoder.type;
    const example = key.example === undefined ? "" : `\`${key.example}\``;
    out.push(`| \`${path}\` | ${cell(type)} | ${presence} | ${cell(key.doc)} | ${cell(example)} |`);
    if (decoder.keys !== undefined) rows(decoder.keys, `${path}.`, out);
    if (element?.keys !== undefined) rows(element.keys, `${path}${decoder.type.startsWith("list") ? "[]" : ".<name>"}.`, out);
  }
}

export function specReferenceMarkdown(): string {
  const out = ["| key | type | default | meaning | example |", "| --- | --- | --- | --- | --- |"];
  rows(pipelineSchema.keys ?? [], "", out);
  return `${out.join("\n")}\n`;
}
