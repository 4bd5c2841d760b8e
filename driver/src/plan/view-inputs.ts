/** The relations (sources and earlier views) each view reads: the plan's lineage, straight from the view bodies. */
import type { ViewBody } from "./nodes.js";

/** By the kind of the body (exhaustive: a new kind must say what it reads). */
const INPUTS: { readonly [K in ViewBody["kind"]]: (body: Extract<ViewBody, { kind: K }>) => readonly string[] } = {
  "parse-messages": (b) => [b.from],
  "registry-devices": (b) => [b.from],
  "join-registry": (b) => [b.readings, b.devices],
  "select-checked": (b) => [b.from],
  "window-aggregate": (b) => [b.from],
  "line-protocol": (b) => [b.from],
};

export function viewInputs(body: ViewBody): readonly string[] {
  return (INPUTS[body.kind] as (b: ViewBody) => readonly string[])(body);
}
